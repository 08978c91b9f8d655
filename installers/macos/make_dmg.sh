#!/usr/bin/env bash
# The macOS disk image: installers/macos/make_dmg.sh EDITION, after
# `python installers/build_bundle.py --edition EDITION` built build/bundle/dist/TinyML Workbench[ Lite].app
# (the spec's BUNDLE step). Writes build/bundle/tinyml-workbench-EDITION-VERSION-macos-ARCH.dmg.
#
# Signing and notarisation run when their secrets are set (the CI workflow passes them):
#   MACOS_SIGN_IDENTITY   "Developer ID Application: ..." in the keychain: codesign, hardened runtime
#   MACOS_NOTARY_PROFILE  a notarytool keychain profile (xcrun notarytool store-credentials): notarise
#                         the .dmg and staple the ticket
# Without them the image is unsigned (Gatekeeper asks the user to confirm the first start).
set -euo pipefail
EDITION=${1:?usage: make_dmg.sh full|lite}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT="$ROOT/build/bundle"
NAME="TinyML Workbench"
[ "$EDITION" = lite ] && NAME="TinyML Workbench Lite"
APP="$OUT/dist/$NAME.app"
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/pyproject.toml")
DMG="$OUT/tinyml-workbench-$EDITION-$VERSION-macos-$(uname -m).dmg"
[ -d "$APP" ] || { echo "error: $APP is missing: build the bundle first" >&2; exit 1; }

if [ -n "${MACOS_SIGN_IDENTITY:-}" ]; then
  codesign --force --deep --options runtime --timestamp \
    --entitlements "$ROOT/installers/macos/entitlements.plist" --sign "$MACOS_SIGN_IDENTITY" "$APP"
  codesign --verify --strict --verbose=2 "$APP"
fi

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"  # drag the app onto it to install
rm -f "$DMG"
hdiutil create -volname "$NAME" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG.partial.dmg"
mv "$DMG.partial.dmg" "$DMG"

if [ -n "${MACOS_SIGN_IDENTITY:-}" ]; then
  codesign --force --timestamp --sign "$MACOS_SIGN_IDENTITY" "$DMG"
fi
if [ -n "${MACOS_NOTARY_PROFILE:-}" ]; then
  xcrun notarytool submit "$DMG" --keychain-profile "$MACOS_NOTARY_PROFILE" --wait
  xcrun stapler staple "$DMG"
fi
echo "wrote $DMG"
