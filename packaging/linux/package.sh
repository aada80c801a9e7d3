#!/usr/bin/env bash
# packaging/linux/package.sh BINDIR OUTDIR — packs the three Linux binaries in
# BINDIR (sensenova-studio, sensenova, sensenova-cuda; `make package-linux`
# builds them) as
#
#   OUTDIR/sensenova-studio_<debian version>_amd64.deb
#   OUTDIR/sensenova-studio-<debian version>-linux-amd64.tar.xz
#
# Environment: VERSION (git describe) and COMMITS (git rev-list --count HEAD),
# both the Makefile's; GO (go);
# SOURCE_DATE_EPOCH (every file's time; default: the last commit's),
# DEB_MAINTAINER. The same inputs give the same bytes (packaging/README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -eq 2 ] || { echo "usage: $0 BINDIR OUTDIR" >&2; exit 2; }
bindir=$1 outdir=$2
GO=${GO:-go}
: "${VERSION:?VERSION (git describe) is not set}"
: "${DEB_MAINTAINER:=SenseNova Studio developers <studio@sensenova.invalid>}"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
for b in sensenova-studio sensenova sensenova-cuda; do
  [ -x "$bindir/$b" ] || { echo "package-linux: $bindir/$b is missing (make package-linux builds it)" >&2; exit 1; }
done

base=$(sed -n 's/^Version *= *"\(.*\)"$/\1/p' FyneApp.toml)
commits=${COMMITS:-$(git rev-list --count HEAD 2>/dev/null || echo 0)}
debver=$($GO run ./packaging/cmd/pkgtool version -describe "$VERSION" -base "$base" -commits "$commits" -format deb)
name=sensenova-studio
deb=$outdir/${name}_${debver}_amd64.deb
tarball=$outdir/$name-$debver-linux-amd64.tar.xz

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
umask 022

# Both packages hold the same tree, under /usr (.deb) or /usr/local (tar.xz).
lay_out() { # ROOT PREFIX
  local root=$1 prefix=$2
  install -Dm755 "$bindir/sensenova-studio" "$root$prefix/bin/sensenova-studio"
  install -Dm755 "$bindir/sensenova" "$root$prefix/bin/sensenova"
  install -Dm755 "$bindir/sensenova-cuda" "$root$prefix/bin/sensenova-cuda"
  install -Dm644 packaging/linux/io.sensenova.studio.desktop "$root$prefix/share/applications/io.sensenova.studio.desktop"
  install -Dm644 assets/icon.png "$root$prefix/share/icons/hicolor/256x256/apps/io.sensenova.studio.png"
}

# Sets every time in a tree to SOURCE_DATE_EPOCH.
clamp_times() { find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +; }

mkdir -p "$outdir"

# --- .deb -------------------------------------------------------------------
root=$stage/deb
lay_out "$root" /usr
mkdir -p "$root/DEBIAN"
(cd "$root" && find usr -type f | LC_ALL=C sort | xargs md5sum) > "$root/DEBIAN/md5sums"
size=$(du -sk --apparent-size "$root/usr" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: $name
Version: $debver
Architecture: amd64
Maintainer: $DEB_MAINTAINER
Installed-Size: $size
Depends: libc6 (>= 2.34), libgl1, libx11-6, libxcursor1, libxrandr2, libxinerama1, libxi6, libxxf86vm1
Section: graphics
Priority: optional
Homepage: https://github.com/sensenova/studio
Description: image studio for the SenseNova-U1 multimodal model
 Generates pictures from text (optionally after a visible thinking phase),
 edits pictures, draws illustrated storyboards and answers questions about
 a picture, with SenseNova-U1 running locally.
 .
 The app (sensenova-studio) runs the CUDA engine (sensenova-cuda) on an
 NVIDIA GPU of compute capability 8.0 or newer when the NVIDIA driver
 (libcuda.so.1) is installed, and otherwise the CPU engine (sensenova), which
 is fine for the built-in demo model and far too slow for the 8B model. Both
 engines are also the sensenova command line. The NVIDIA driver is not a
 dependency: install your distribution's driver package for GPU use.
CONTROL
chmod 644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
clamp_times "$root"
rm -f "$deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null

# --- tar.xz -------------------------------------------------------------------
top=$name-$debver
tree=$stage/tar/$top
lay_out "$tree" /usr/local
install -Dm644 packaging/linux/Makefile.tarball "$tree/Makefile"
clamp_times "$stage/tar"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    --format=gnu -C "$stage/tar" -cf - "$top" | xz -6 -T1 > "$tarball"

ls -l "$deb" "$tarball" | awk '{printf "package-linux: %s (%.1f MB)\n", $NF, $5/1e6}'
