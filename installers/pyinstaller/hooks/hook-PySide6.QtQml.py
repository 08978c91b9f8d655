# Replaces PyInstaller's own hook for PySide6.QtQml: the Qt libraries QtQml needs, without Qt's QML
# modules (the qml/ folder and the many libraries its plugins link: Quick 3D, Multimedia, Charts...).
# The app draws no QML; QtWebEngine links QtQml and QtQuick but never loads a QML module.
from PyInstaller.utils.hooks.qt import add_qt6_dependencies

hiddenimports, binaries, datas = add_qt6_dependencies(__file__)
