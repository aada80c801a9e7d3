#!/usr/bin/env bash
# packaging/linux/check.sh DIST — checks the .deb and tar.xz that package.sh
# wrote into DIST: the control fields, the file list with owners and modes,
# that every library the binaries link is covered by Depends (libcuda.so.1,
# the driver's, excepted) and glibc's version is what Depends says, then
# installs the .deb into a scratch root with dpkg --root, runs the engine's
# --version from there, removes the package again, and installs the tarball
# with its Makefile into a scratch DESTDIR. Prints what it checked; exits
# non-zero at the first failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -eq 1 ] || { echo "usage: $0 DIST" >&2; exit 2; }
dist=$1
GO=${GO:-go}
: "${VERSION:?VERSION (git describe) is not set}"
base=$(sed -n 's/^Version *= *"\(.*\)"$/\1/p' FyneApp.toml)
commits=${COMMITS:-$(git rev-list --count HEAD 2>/dev/null || echo 0)}
debver=$($GO run ./packaging/cmd/pkgtool version -describe "$VERSION" -base "$base" -commits "$commits" -format deb)
deb=$dist/sensenova-studio_${debver}_amd64.deb
tarball=$dist/sensenova-studio-$debver-linux-amd64.tar.xz
fail() { echo "check-linux: FAIL: $*" >&2; exit 1; }
ok() { echo "check-linux: ok: $*"; }
[ -f "$deb" ] || fail "$deb is missing"
[ -f "$tarball" ] || fail "$tarball is missing"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- control ------------------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = sensenova-studio ] || fail "Package is $(field Package)"
[ "$(field Version)" = "$debver" ] || fail "Version is $(field Version), want $debver"
[ "$(field Architecture)" = amd64 ] || fail "Architecture is $(field Architecture)"
depends=$(field Depends)
[ -z "$(field Recommends)$(field Suggests)" ] || fail "the package recommends or suggests: $(field Recommends) $(field Suggests)"
case "$depends" in *nvidia*|*cuda*) fail "Depends names NVIDIA/CUDA: $depends" ;; esac
ok "control: sensenova-studio $debver amd64; Depends: $depends"

# --- files ----------------------------------------------------------------------
dpkg-deb -c "$deb" | awk '{print $1, $2, $6}' > "$tmp/list"
want_files=(
  "-rwxr-xr-x root/root ./usr/bin/sensenova"
  "-rwxr-xr-x root/root ./usr/bin/sensenova-cuda"
  "-rwxr-xr-x root/root ./usr/bin/sensenova-studio"
  "-rw-r--r-- root/root ./usr/share/applications/io.sensenova.studio.desktop"
  "-rw-r--r-- root/root ./usr/share/icons/hicolor/256x256/apps/io.sensenova.studio.png"
)
for f in "${want_files[@]}"; do grep -qxF -- "$f" "$tmp/list" || fail "the .deb lacks '$f'"; done
[ "$(grep -c '^-' "$tmp/list")" -eq ${#want_files[@]} ] || fail "the .deb holds other files: $(grep '^-' "$tmp/list")"
if grep -v ' root/root ' "$tmp/list"; then fail "files not owned by root"; fi
ok "files: ${#want_files[@]} files, all root/root, binaries 0755"

# --- libraries --------------------------------------------------------------------
dpkg-deb -x "$deb" "$tmp/x"
statics=""
glibc_dep=$(sed -n 's/.*libc6 (>= \([0-9.]*\)).*/\1/p' <<<"$depends")
for b in sensenova-studio sensenova sensenova-cuda; do
  # (grep reads a here-string: with pipefail, grep -q ending a pipe early
  # would fail it.)
  if ! grep -q NEEDED <<<"$(objdump -p "$tmp/x/usr/bin/$b")"; then
    statics+=" $b"
    continue
  fi
  for lib in $(objdump -p "$tmp/x/usr/bin/$b" | awk '/NEEDED/ {print $2}'); do
    [ "$lib" = libcuda.so.1 ] && continue # the NVIDIA driver's, the user's to install
    # "pkg[:arch][, pkg…]: /path" lines; "diversion by …" lines are not owners.
    owners=$(dpkg -S "*/$lib" 2>/dev/null | grep -v '^diversion by' | cut -d: -f1 | tr ',' '\n' | tr -d ' ' | sort -u) || true
    [ -n "$owners" ] || fail "$b needs $lib, which no installed package here provides (cannot check Depends)"
    found=""
    for owner in $owners; do
      grep -Eq "(^|, )$owner( |,|$)" <<<"$depends" && found=$owner
    done
    [ -n "$found" ] || fail "$b needs $lib (from $(echo $owners)), which Depends lacks"
  done
  need=$(objdump -T "$tmp/x/usr/bin/$b" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)
  [ "$(printf '%s\n%s\n' "$need" "$glibc_dep" | sort -V | tail -1)" = "$glibc_dep" ] || fail "$b needs glibc $need, Depends says >= $glibc_dep"
done
grep -q 'NEEDED *libcuda.so.1' <<<"$(objdump -p "$tmp/x/usr/bin/sensenova-cuda")" || fail "sensenova-cuda does not link libcuda.so.1: is it the CUDA build?"
if grep -q 'libcuda' <<<"$(objdump -p "$tmp/x/usr/bin/sensenova")"; then fail "the CPU engine links libcuda"; fi
ok "libraries: every DT_NEEDED is in Depends (libcuda.so.1 of sensenova-cuda excepted), glibc <= $glibc_dep${statics:+; statically linked:$statics}"

# --- install into a scratch root ------------------------------------------------------
root=$tmp/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/log"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
dpkg --root="$root" --log=/dev/null --force-depends --force-not-root -i "$deb" > "$tmp/dpkg.log" 2>&1 ||
  { cat "$tmp/dpkg.log" >&2; fail "dpkg --root -i"; }
for f in usr/bin/sensenova-studio usr/bin/sensenova usr/bin/sensenova-cuda \
         usr/share/applications/io.sensenova.studio.desktop usr/share/icons/hicolor/256x256/apps/io.sensenova.studio.png; do
  [ -f "$root/$f" ] || fail "/$f was not installed"
done
[ "$(dpkg-query --root="$root" -W -f='${Status} ${Version}' sensenova-studio)" = "install ok installed $debver" ] ||
  fail "dpkg does not list sensenova-studio $debver as installed"
got=$("$root/usr/bin/sensenova" --version)
[ "$got" = "sensenova $VERSION" ] || fail "the installed engine says '$got', want 'sensenova $VERSION'"
# (-trimpath keeps -ldflags out of the build info, so look for the string.)
grep -aqF "$VERSION" "$root/usr/bin/sensenova-studio" || fail "sensenova-studio does not carry the version $VERSION"
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$root/usr/share/applications/io.sensenova.studio.desktop" || fail "desktop-file-validate"
fi
if cuda_out=$("$root/usr/bin/sensenova-cuda" --version 2>&1); then
  cuda_note="sensenova-cuda --version: $cuda_out"
else
  cuda_note="sensenova-cuda does not start here (no NVIDIA driver or GPU): $(tail -1 <<<"$cuda_out")"
fi
dpkg --root="$root" --log=/dev/null --force-not-root -r sensenova-studio > "$tmp/dpkg.log" 2>&1 ||
  { cat "$tmp/dpkg.log" >&2; fail "dpkg --root -r"; }
left=$(find "$root" -path "$root/var" -prune -o -type f -print)
[ -z "$left" ] || fail "files left after removal: $left"
ok "installed into a scratch root with dpkg --root, 'sensenova --version' = $got, removed cleanly"
ok "$cuda_note"

# --- tar.xz -------------------------------------------------------------------------
mkdir -p "$tmp/t"
tar -xJf "$tarball" -C "$tmp/t"
top=$tmp/t/sensenova-studio-$debver
[ -f "$top/Makefile" ] || fail "the tarball has no Makefile"
make -s -C "$top" install DESTDIR="$tmp/dest" >/dev/null
for f in bin/sensenova-studio bin/sensenova bin/sensenova-cuda share/applications/io.sensenova.studio.desktop \
         share/icons/hicolor/256x256/apps/io.sensenova.studio.png; do
  [ -f "$tmp/dest/usr/local/$f" ] || fail "make install did not install /usr/local/$f"
done
cmp -s "$tmp/dest/usr/local/bin/sensenova-studio" "$tmp/x/usr/bin/sensenova-studio" || fail "the tarball's app differs from the .deb's"
make -s -C "$top" uninstall DESTDIR="$tmp/dest" >/dev/null
[ -z "$(find "$tmp/dest" -type f)" ] || fail "make uninstall left files"
ok "tar.xz: make install DESTDIR=… puts the same binaries under /usr/local; make uninstall removes them"
