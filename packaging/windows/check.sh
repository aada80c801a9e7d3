#!/usr/bin/env bash
# packaging/windows/check.sh OUTDIR — checks what package.sh wrote: the
# executables' subsystem, imported DLLs and resources; the NSIS installer's
# contents (7z lists and extracts NSIS archives) against the built files; the
# MSI's file table. When Wine (wine64) is installed it also runs both
# installers silently in a scratch Wine prefix and checks the installed
# files, shortcuts and the Add/Remove Programs entry, then uninstalls and
# checks that nothing is left. Wine 8 (Debian 12) cannot run Go 1.26
# programs (no bcryptprimitives.dll), so the programs themselves are not run.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
outdir=$1
GO=${GO:-go}
: "${VERSION:?VERSION (git describe) is not set}"
base=$(sed -n 's/^Version *= *"\(.*\)"$/\1/p' FyneApp.toml)
commits=${COMMITS:-$(git rev-list --count HEAD 2>/dev/null || echo 0)}
pkgver=$($GO run ./packaging/cmd/pkgtool version -describe "$VERSION" -base "$base" -commits "$commits" -format deb)
bin=$outdir/build/windows-amd64
setup=$outdir/sensenova-studio-$pkgver-windows-amd64-setup.exe
msi=$outdir/sensenova-studio-$pkgver-windows-amd64.msi
fail() { echo "check-windows: FAIL: $*" >&2; exit 1; }
ok() { echo "check-windows: ok: $*"; }
[ -f "$setup" ] || fail "$setup is missing"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
objdump=x86_64-w64-mingw32-objdump

# --- executables ----------------------------------------------------------------
exes="sensenova-studio.exe sensenova.exe"
[ -f "$bin/sensenova-cuda.exe" ] && exes+=" sensenova-cuda.exe"
for exe in $exes; do
  $objdump -p "$bin/$exe" > "$tmp/pe"
  subsystem=$(awk '/^Subsystem/ {print $3, $4}' "$tmp/pe")
  want="(Windows CUI)"; [ $exe = sensenova-studio.exe ] && want="(Windows GUI)"
  [ "$subsystem" = "$want" ] || fail "$exe has subsystem $subsystem, want $want"
  dlls=$(awk '/DLL Name/ {print tolower($3)}' "$tmp/pe" | sort -u | tr '\n' ' ')
  for dll in $dlls; do
    case $dll in
      kernel32.dll|msvcrt.dll|user32.dll|gdi32.dll|shell32.dll|opengl32.dll|advapi32.dll|ws2_32.dll|winmm.dll|ntdll.dll) ;;
      nvcuda.dll) [ $exe = sensenova-cuda.exe ] || fail "$exe imports nvcuda.dll" ;;
      *) fail "$exe imports $dll, which Windows does not have (a mingw runtime DLL?)" ;;
    esac
  done
  grep -aqF "$VERSION" "$bin/$exe" || fail "$exe does not carry the version $VERSION"
  ok "$exe: $subsystem, imports $dlls"
done
if [ -f "$bin/sensenova-cuda.exe" ]; then
  grep -q 'DLL Name: nvcuda.dll' <<<"$($objdump -p "$bin/sensenova-cuda.exe")" || fail "sensenova-cuda.exe does not import nvcuda.dll"
fi
grep -q '\.rsrc' <<<"$($objdump -h "$bin/sensenova-studio.exe")" || fail "sensenova-studio.exe has no resources"
grep -aq 'io.sensenova.studio' "$bin/sensenova-studio.exe" || fail "sensenova-studio.exe has no manifest"
python3 - "$bin/sensenova-studio.exe" <<'PY' || fail "sensenova-studio.exe has no version resource"
import sys
d = open(sys.argv[1], 'rb').read()
sys.exit(0 if 'VS_VERSION_INFO'.encode('utf-16-le') in d and 'ProductVersion'.encode('utf-16-le') in d else 1)
PY
ok "sensenova-studio.exe carries its icon, manifest and version resource"

# --- NSIS installer -------------------------------------------------------------------
7z x -y -o"$tmp/nsis" "$setup" >/dev/null || fail "7z cannot read $setup"
for exe in $exes icon.ico; do
  cmp -s "$tmp/nsis/$exe" "$bin/$exe" || fail "the installer's $exe differs from the built one"
done
ok "NSIS installer: holds $exes icon.ico, byte for byte"

# --- MSI ----------------------------------------------------------------------------
if [ -f "$msi" ]; then
  command -v msiinfo >/dev/null || fail "msiinfo (msitools) is missing"
  files=$(msiinfo export "$msi" File | awk -F'\t' 'NR > 3 {print $3}' | sort | tr '\n' ' ')
  want=$(echo $exes | tr ' ' '\n' | sort | tr '\n' ' ')
  [ "$files" = "$want" ] || fail "the MSI installs '$files', want '$want'"
  ok "MSI: installs $files"
fi

# --- run the installers under Wine -----------------------------------------------------
wine=$(command -v wine64 || ls /usr/lib/wine/wine64 2>/dev/null || true)
if [ -z "$wine" ]; then
  echo "check-windows: Wine is not installed: the installers were not run"
  exit 0
fi
wineserver=$(dirname "$wine")/wineserver
export WINEPREFIX=$tmp/wine WINEDEBUG=-all
run() { "$wine" "$@" >/dev/null 2>&1 || true; "$wineserver" -w; }
run wineboot -i
c=$WINEPREFIX/drive_c
dir="$c/Program Files/SenseNova Studio"
key='HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\io.sensenova.studio'
run "$setup" /S
for f in $exes uninstall.exe; do [ -f "$dir/$f" ] || fail "the installer did not install $f into Program Files\\SenseNova Studio"; done
[ -f "$c/ProgramData/Microsoft/Windows/Start Menu/Programs/SenseNova Studio.lnk" ] || fail "no Start-menu shortcut"
[ -f "$c/users/Public/Desktop/SenseNova Studio.lnk" ] || fail "no desktop shortcut"
"$wine" reg query "$key" 2>/dev/null | tr -d '\r' > "$tmp/reg"
grep -q "DisplayVersion    REG_SZ    $pkgver\$" "$tmp/reg" || fail "Add/Remove Programs does not list version $pkgver: $(cat "$tmp/reg")"
grep -q 'UninstallString    REG_SZ    "C:\\Program Files\\SenseNova Studio\\uninstall.exe"' "$tmp/reg" || fail "no UninstallString: $(cat "$tmp/reg")"
run "C:\\Program Files\\SenseNova Studio\\uninstall.exe" /S
sleep 1; "$wineserver" -w
[ ! -e "$dir" ] || fail "the uninstaller left $(ls "$dir")"
[ -z "$(find "$c" -name 'SenseNova Studio.lnk')" ] || fail "the uninstaller left shortcuts"
if "$wine" reg query "$key" >/dev/null 2>&1; then fail "the uninstaller left the Add/Remove Programs entry"; fi
ok "NSIS installer under Wine: /S installs into Program Files with Start-menu and desktop shortcuts and an Add/Remove Programs entry; the uninstaller removes them all"
if [ -f "$msi" ]; then
  run msiexec /i "$msi" /qn
  for f in $exes; do [ -f "$dir/$f" ] || fail "the MSI did not install $f"; done
  # (The MSI sets ALLUSERS=1; Wine's msiexec still puts the shortcut into
  # the user's Start menu, so either place is accepted here.)
  [ -n "$(find "$c" -path '*Start Menu/Programs/SenseNova Studio.lnk')" ] || fail "the MSI made no Start-menu shortcut"
  run msiexec /x "$msi" /qn
  [ ! -e "$dir" ] || fail "uninstalling the MSI left $(ls "$dir")"
  ok "MSI under Wine: msiexec /i installs, msiexec /x removes"
fi
