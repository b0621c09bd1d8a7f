"""Start at sign-in (issue 19, item 8): on Windows a value under the user's Run key, written and
removed through an injected winreg look-alike; elsewhere a no-op with one sentence."""
from __future__ import annotations

from ui.autostart import RUN_KEY, VALUE_NAME, AutoStartBox, SignInStart


class FakeKey:
    def __init__(self, registry: "FakeRegistry", path: str):
        self.registry, self.path = registry, path

    def __enter__(self) -> "FakeKey":
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class FakeRegistry:
    """The few winreg calls the module makes, over a dict: {key path: {name: value}}."""

    HKEY_CURRENT_USER = "HKCU"
    KEY_READ, KEY_SET_VALUE, REG_SZ = 1, 2, 1

    def __init__(self, refuse: bool = False) -> None:
        self.values: dict[str, dict[str, str]] = {RUN_KEY: {"OneDrive": "onedrive.exe"}}
        self.refuse = refuse

    def OpenKey(self, root: str, path: str, reserved: int, access: int) -> FakeKey:  # noqa: N802 - winreg's names
        if self.refuse and access == self.KEY_SET_VALUE:
            raise PermissionError("Access is denied")
        return FakeKey(self, path)

    def QueryValueEx(self, key: FakeKey, name: str) -> tuple[str, int]:  # noqa: N802
        try:
            return self.values[key.path][name], self.REG_SZ
        except KeyError:
            raise FileNotFoundError(name) from None

    def SetValueEx(self, key: FakeKey, name: str, reserved: int, kind: int, value: str) -> None:  # noqa: N802
        self.values[key.path][name] = value

    def DeleteValue(self, key: FakeKey, name: str) -> None:  # noqa: N802
        try:
            del self.values[key.path][name]
        except KeyError:
            raise FileNotFoundError(name) from None


def test_on_windows_ticking_writes_the_run_entry_and_unticking_removes_only_it(qtbot):
    registry = FakeRegistry()
    box = AutoStartBox(SignInStart("win32", registry, '"C:\\AutoHedge\\AutoHedge.exe"'))
    qtbot.addWidget(box)
    assert box.isEnabled() and not box.isChecked()
    box.setChecked(True)
    assert registry.values[RUN_KEY][VALUE_NAME] == '"C:\\AutoHedge\\AutoHedge.exe"'
    assert box.last == "AutoHedge starts when you sign in to Windows"
    again = AutoStartBox(SignInStart("win32", registry, '"C:\\AutoHedge\\AutoHedge.exe"'))
    qtbot.addWidget(again)
    assert again.isChecked(), "the option shows what Windows holds"
    again.setChecked(False)
    assert registry.values[RUN_KEY] == {"OneDrive": "onedrive.exe"}


def test_a_refusal_is_one_sentence_and_the_box_stays_unticked(qtbot):
    box = AutoStartBox(SignInStart("win32", FakeRegistry(refuse=True), "x"))
    qtbot.addWidget(box)
    box.setChecked(True)
    assert box.last.startswith("Windows refused the sign-in start (Access is denied") and not box.isChecked()


def test_elsewhere_a_no_op_with_a_sentence(qtbot):
    box = AutoStartBox(SignInStart("linux", registry=None))
    qtbot.addWidget(box)
    assert not box.isEnabled() and not box.isChecked()
    assert box.toolTip().startswith("Starting at sign-in is a Windows option")
