#!/usr/bin/env bash
# packaging/windows/package.sh OUTDIR — cross-compiles the Windows build with
# Debian's mingw-w64 and packs it:
#
#   OUTDIR/build/windows-amd64/  sensenova-studio.exe (GUI, icon, manifest,
#                                version resource), sensenova.exe (CPU engine),
#                                sensenova-cuda.exe (CUDA engine, when it builds)
#   OUTDIR/sensenova-studio-<version>-windows-amd64-setup.exe   (NSIS)
#   OUTDIR/sensenova-studio-<version>-windows-amd64.msi         (wixl, when installed)
#
# sensenova-cuda.exe links nvcuda.dll through an import library made here
# from cuda.h (make cuda-headers) with dlltool. When it does not build, the
# error is printed and the installers carry the CPU engine only, unless
# REQUIRE_CUDA=1, which makes that a failure.
#
# Environment: VERSION (git describe) and COMMITS (git rev-list --count HEAD),
# both the Makefile's; GO (go);
# SOURCE_DATE_EPOCH, REQUIRE_CUDA.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
outdir=$1
GO=${GO:-go}
: "${VERSION:?VERSION (git describe) is not set}"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
cuda_h=.cuda/usr/include/cuda.h
[ -f "$cuda_h" ] || { echo "package-windows: $cuda_h is missing (make cuda-headers)" >&2; exit 1; }
for tool in x86_64-w64-mingw32-gcc x86_64-w64-mingw32-windres x86_64-w64-mingw32-dlltool makensis; do
  command -v $tool >/dev/null || { echo "package-windows: $tool is missing (apt-get install gcc-mingw-w64-x86-64 nsis)" >&2; exit 1; }
done

base=$(sed -n 's/^Version *= *"\(.*\)"$/\1/p' FyneApp.toml)
commits=${COMMITS:-$(git rev-list --count HEAD 2>/dev/null || echo 0)}
pkgtool() { $GO run ./packaging/cmd/pkgtool "$@"; }
pkgver=$(pkgtool version -describe "$VERSION" -base "$base" -commits "$commits" -format deb)
winver=$(pkgtool version -describe "$VERSION" -base "$base" -commits "$commits" -format win)
bin=$outdir/build/windows-amd64
gen=$outdir/build/windows-gen
rm -rf "$bin" "$gen"
mkdir -p "$bin" "$gen"
pkgtool ico -o "$bin/icon.ico" assets/icon.png

export CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc
ldflags="-s -w -buildid= -X github.com/sensenova/studio/internal/version.Version=$VERSION"
step() { echo "package-windows: $*"; }

# --- the app: icon, manifest and version resource in a .syso next to main.go
commas=${winver//./,}
cat > "$gen/sensenova-studio.manifest" <<MANIFEST
<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<assembly xmlns="urn:schemas-microsoft-com:asm.v1" manifestVersion="1.0" xmlns:asmv3="urn:schemas-microsoft-com:asm.v3">
  <assemblyIdentity type="win32" name="io.sensenova.studio" version="$winver" processorArchitecture="amd64"/>
  <description>SenseNova Studio</description>
  <dependency>
    <dependentAssembly>
      <assemblyIdentity type="win32" name="Microsoft.Windows.Common-Controls" version="6.0.0.0" processorArchitecture="*" publicKeyToken="6595b64144ccf1df" language="*"/>
    </dependentAssembly>
  </dependency>
  <compatibility xmlns="urn:schemas-microsoft-com:compatibility.v1">
    <application>
      <supportedOS Id="{8e0f7a12-bfb3-4fe8-b9a5-48fd50a15a9a}"/>
    </application>
  </compatibility>
  <asmv3:application>
    <asmv3:windowsSettings xmlns="http://schemas.microsoft.com/SMI/2005/WindowsSettings">
      <dpiAware>true</dpiAware>
    </asmv3:windowsSettings>
  </asmv3:application>
  <trustInfo xmlns="urn:schemas-microsoft-com:asm.v3">
    <security>
      <requestedPrivileges>
        <requestedExecutionLevel level="asInvoker" uiAccess="false"/>
      </requestedPrivileges>
    </security>
  </trustInfo>
</assembly>
MANIFEST
cp "$bin/icon.ico" "$gen/icon.ico"
cat > "$gen/sensenova-studio.rc" <<RC
1 ICON "icon.ico"
1 24 "sensenova-studio.manifest"
1 VERSIONINFO
FILEVERSION $commas
PRODUCTVERSION $commas
FILEOS 0x40004
FILETYPE 0x1
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904B0"
    BEGIN
      VALUE "CompanyName", "SenseNova Studio developers"
      VALUE "FileDescription", "SenseNova Studio"
      VALUE "FileVersion", "$VERSION"
      VALUE "InternalName", "sensenova-studio"
      VALUE "OriginalFilename", "sensenova-studio.exe"
      VALUE "ProductName", "SenseNova Studio"
      VALUE "ProductVersion", "$pkgver"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x409, 1200
  END
END
RC
# The linker takes .syso files from the package folder only; this one lives
# there for the length of the build (it is in .gitignore).
syso=zz_packaging_windows_amd64.syso
(cd "$gen" && x86_64-w64-mingw32-windres -O coff -i sensenova-studio.rc -o resources.syso)
trap 'rm -f "$syso"' EXIT
cp "$gen/resources.syso" "$syso"
step "building sensenova-studio.exe"
$GO build -trimpath -buildvcs=false -ldflags "$ldflags -H windowsgui" -o "$bin/sensenova-studio.exe" .
rm -f "$syso"

step "building sensenova.exe (CPU engine)"
$GO build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$bin/sensenova.exe" ./inference/cmd/sensenova

# --- the CUDA engine: an import library for nvcuda.dll from cuda.h's functions
{
  echo "LIBRARY nvcuda.dll"
  echo "EXPORTS"
  x86_64-w64-mingw32-gcc -E -P "$cuda_h" | tr '\n' ' ' | grep -oE '\bCUresult +cu[A-Za-z0-9_]+ *\(' |
    sed -E 's/^CUresult +//; s/ *\($//' | LC_ALL=C sort -u
} > "$gen/nvcuda.def"
x86_64-w64-mingw32-dlltool -d "$gen/nvcuda.def" -D nvcuda.dll -l "$gen/libcuda.a"
step "building sensenova-cuda.exe (CUDA engine; $(($(wc -l < "$gen/nvcuda.def") - 2)) driver functions in the nvcuda.dll import library)"
if CGO_CFLAGS="-I$PWD/.cuda/usr/include" CGO_LDFLAGS="-L$PWD/$gen" \
   $GO build -tags cuda -trimpath -buildvcs=false -ldflags "$ldflags" -o "$bin/sensenova-cuda.exe" ./inference/cmd/sensenova \
   2> "$gen/cuda-build.log"; then
  step "sensenova-cuda.exe imports: $(x86_64-w64-mingw32-objdump -p "$bin/sensenova-cuda.exe" | awk '/DLL Name/ {printf "%s ", $3}')"
else
  echo "package-windows: sensenova-cuda.exe did not build:" >&2
  sed 's/^/    /' "$gen/cuda-build.log" >&2
  rm -f "$bin/sensenova-cuda.exe"
  if [ "${REQUIRE_CUDA:-}" = 1 ]; then exit 1; fi
  echo "package-windows: going on without it: the installers carry the CPU engine only" >&2
fi
find "$bin" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# --- installers
setup=$outdir/sensenova-studio-$pkgver-windows-amd64-setup.exe
step "makensis → $setup"
makensis -V2 -DVERSION="$pkgver" -DWINVERSION="$winver" -DSRCDIR="$PWD/$bin" -DOUTFILE="$PWD/$setup" packaging/windows/installer.nsi
if command -v wixl >/dev/null; then
  msi=$outdir/sensenova-studio-$pkgver-windows-amd64.msi
  step "wixl → $msi"
  wixl -a x64 -D Version="$winver" -D SrcDir="$bin" -D Cuda="$([ -f "$bin/sensenova-cuda.exe" ] && echo yes || echo no)" \
    -o "$msi" packaging/windows/sensenova-studio.wxs
fi
ls -l "$bin"/*.exe "$outdir"/sensenova-studio-"$pkgver"-windows-amd64* | awk '{printf "package-windows: %s (%.1f MB)\n", $NF, $5/1e6}'
