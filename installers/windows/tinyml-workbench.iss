; Inno Setup script of the Windows installer: iscc /DEdition=full installers\windows\tinyml-workbench.iss
; (or /DEdition=lite), after `python installers/build_bundle.py --edition full` has built the bundle in
; build\bundle\dist\tinyml-workbench-<edition>\. Writes build\bundle\tinyml-workbench-<edition>-<version>-windows-setup.exe.
; Per-user by default (no administrator needed); Start menu entry, optional desktop icon, the .tflite
; and .tmlw file associations, and an uninstaller that removes all of it.
#ifndef Edition
  #define Edition "full"
#endif
#ifndef Version
  #define Version "0.1.0"
#endif
#define Bundle "..\..\build\bundle\dist\tinyml-workbench-" + Edition
#define GuiExe "TinyML Workbench.exe"
; The editions install side by side: each has its own name, Start menu group and file types.
#define AppTitle "TinyML Workbench" + (Edition == "lite" ? " Lite" : "")
#define ProgId "TinyMLWorkbench" + (Edition == "lite" ? "Lite" : "")

[Setup]
AppId={{6F0F5A8E-2C3B-4C39-9F59-7D1E2B7A{#Edition == "full" ? "0F01" : "0F02"}}
AppName={#AppTitle}
AppVersion={#Version}
AppPublisher=TinyML Workbench
AppPublisherURL=https://github.com/tinyml-workbench/tinyml-workbench
DefaultDirName={autopf}\{#AppTitle}
DefaultGroupName={#AppTitle}
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
ChangesAssociations=yes
DisableProgramGroupPage=yes
OutputDir=..\..\build\bundle
OutputBaseFilename=tinyml-workbench-{#Edition}-{#Version}-windows-setup
SetupIconFile=..\..\resources\icons\tinyml-workbench.ico
UninstallDisplayIcon={app}\{#GuiExe}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; Signing: set SignTool in the CI secrets (signtool with the certificate) and uncomment:
; SignTool=signtool
; SignedUninstaller=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#Bundle}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppTitle}"; Filename: "{app}\{#GuiExe}"
Name: "{group}\Uninstall {#AppTitle}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppTitle}"; Filename: "{app}\{#GuiExe}"; Tasks: desktopicon

[Registry]
; .tflite models and .tmlw projects open in the app (per user, removed by the uninstaller).
Root: HKA; Subkey: "Software\Classes\.tflite\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}.Model"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\{#ProgId}.Model"; ValueType: string; ValueName: ""; ValueData: "TensorFlow Lite model"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#ProgId}.Model\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#GuiExe},0"
Root: HKA; Subkey: "Software\Classes\{#ProgId}.Model\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#GuiExe}"" gui ""%1"""
Root: HKA; Subkey: "Software\Classes\.tmlw"; ValueType: string; ValueName: ""; ValueData: "{#ProgId}.Project"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\{#ProgId}.Project"; ValueType: string; ValueName: ""; ValueData: "TinyML Workbench project"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#ProgId}.Project\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#GuiExe},0"
Root: HKA; Subkey: "Software\Classes\{#ProgId}.Project\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#GuiExe}"" gui ""%1"""

[Run]
Filename: "{app}\{#GuiExe}"; Description: "{cm:LaunchProgram,{#AppTitle}}"; Flags: nowait postinstall skipifsilent
