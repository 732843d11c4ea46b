"""A person filling a form in LibreOffice Writer, for the tests: keyboard typing and pasting.

Run by a Python that can ``import uno`` (Debian's /usr/bin/python3), never imported by pytest:

    python3 tests/libreoffice_user.py JOB.json

JOB.json: {"source": path, "target": path, "profile": folder, "soffice": program (optional),
"actions": [...]}; each action names the answer cell by the text it starts with (the field's
prompt, or what was typed there before) and says what the person does:

* ``type_after``: click after the untouched prompt, type ``text`` (stays next to the control)
* ``new_paragraph``: click after the untouched prompt, press Enter, type ``text``
* ``type_over``: select the prompt (click on it: LibreOffice 7.5 and later select a control's
  placeholder on a click; before, the person selects the line), type ``text``; ``\\n`` is Enter,
  ``\\v`` is Shift+Enter
* ``type_inside``: click after the first ``at`` characters of the prompt, type ``text``
* ``hidden_after``: type ``text`` after the prompt (or answer), then format it as hidden
* ``tracked_delete``: with track changes on, select ``text`` in the cell and delete it
* ``paste_over``: select the prompt as for ``type_over``, paste ``text`` from the clipboard
  (Ctrl+V); ``\\n`` starts a new paragraph, as in plain text copied from a mail or a note
* ``paste_after``: click after the untouched prompt, paste ``text``

The form is saved as Word 2007-365 .docx (what "Keep current format" writes) to ``target``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import uno
import unohelper
from com.sun.star.beans import PropertyValue
from com.sun.star.datatransfer import DataFlavor, XTransferable

PLAIN_TEXT = "text/plain;charset=utf-16"


def prop(name: str, value) -> PropertyValue:
    """Return a UNO property value."""
    item = PropertyValue()
    item.Name, item.Value = name, value
    return item


def start(profile: Path, soffice: str = "soffice"):
    """Return (soffice process, UNO component context) of a fresh headless LibreOffice."""
    pipe = f"samtale-test-{uuid.uuid4().hex[:12]}"
    process = subprocess.Popen(
        [
            soffice,
            "--headless",
            "--invisible",
            "--norestore",
            f"-env:UserInstallation={profile.as_uri()}",
            f"--accept=pipe,name={pipe};urp;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # soffice.bin runs under a wrapper: stop the whole group
        env=dict(os.environ),  # not what ``import uno`` set for itself (URE_BOOTSTRAP)
    )
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            return process, resolver.resolve(
                f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext"
            )
        except Exception:  # noqa: BLE001 - NoConnectException until soffice listens
            if time.monotonic() > deadline or process.poll() is not None:
                stop(process)
                raise
            time.sleep(0.1)


class Clipboard(unohelper.Base, XTransferable):
    """Plain text on the clipboard, as copied from a mail or a note."""

    def __init__(self, text: str):
        self.text = text
        self.flavor = DataFlavor()
        self.flavor.MimeType = PLAIN_TEXT
        self.flavor.HumanPresentableName = "Unicode text"
        self.flavor.DataType = uno.getTypeByName("string")

    def getTransferData(self, flavor):  # noqa: N802 - UNO interface
        """Return the text (the only flavour offered)."""
        return self.text

    def getTransferDataFlavors(self):  # noqa: N802 - UNO interface
        """Return the flavours offered: plain text."""
        return (self.flavor,)

    def isDataFlavorSupported(self, flavor):  # noqa: N802 - UNO interface
        """Return whether ``flavor`` is plain text."""
        return flavor.MimeType == PLAIN_TEXT


def answer_cell(document, prompt: str):
    """Return the table cell whose text starts with ``prompt``."""
    for table in document.TextTables:
        for name in table.CellNames:
            cell = table.getCellByName(name)
            if cell.String.startswith(prompt):
                return cell
    raise LookupError(f"no cell starts with {prompt!r}")


def field_control(cell):
    """Return the first content control in ``cell`` (LibreOffice 7.5 and later), or None."""
    paragraphs = cell.createEnumeration()
    while paragraphs.hasMoreElements():
        portions = paragraphs.nextElement().createEnumeration()
        while portions.hasMoreElements():
            portion = portions.nextElement()
            if portion.TextPortionType == "ContentControl":
                return portion.ContentControl
    return None


class Person:
    """Types into one open document the way the keyboard does (dispatch commands)."""

    def __init__(self, context, document):
        self.context = context
        self.document = document
        self.controller = document.CurrentController
        self.dispatcher = context.ServiceManager.createInstanceWithContext(
            "com.sun.star.frame.DispatchHelper", context
        )

    def command(self, name: str, *args: PropertyValue) -> None:
        """Run one Writer command on the document's frame."""
        self.dispatcher.executeDispatch(self.controller.Frame, name, "", 0, tuple(args))

    def type(self, text: str) -> None:
        """Type ``text``: ``\\n`` is Enter, ``\\v`` is Shift+Enter."""
        for number, paragraph in enumerate(text.split("\n")):
            if number:
                self.command(".uno:InsertPara")
            for line_number, line in enumerate(paragraph.split("\v")):
                if line_number:
                    self.command(".uno:InsertLinebreak")
                if line:
                    self.command(".uno:InsertText", prop("Text", line))

    def paste(self, text: str) -> None:
        """Put ``text`` on the clipboard and paste it (Ctrl+V) where the cursor is."""
        clipboard = self.context.ServiceManager.createInstanceWithContext(
            "com.sun.star.datatransfer.clipboard.SystemClipboard", self.context
        )
        clipboard.setContents(Clipboard(text.replace("\n", "\r\n")), None)
        self.command(".uno:Paste")

    def place(self, cell, *, start: int | None = None, select_paragraph: bool = False) -> None:
        """Put the view cursor into ``cell``: at its end, after ``start`` characters, or over
        the prompt (a click on a control showing its placeholder selects it, LibreOffice 7.5
        and later; else the first paragraph is selected)."""
        cursor = cell.createTextCursor()
        control = field_control(cell) if select_paragraph else None
        if control is not None and control.ShowingPlaceHolder:
            cursor = control.createTextCursor()
            cursor.gotoStart(False)
            cursor.gotoEnd(True)
        elif select_paragraph:
            cursor.gotoStart(False)
            cursor.gotoEndOfParagraph(True)
        elif start is not None:
            before = self.find(cell, cell.String[:start])
            cursor = before.Text.createTextCursorByRange(before.End)
        else:
            cursor.gotoEnd(False)
        self.controller.select(cursor)

    def act(self, action: dict) -> None:
        """Do one action of the job."""
        cell = answer_cell(self.document, action["cell"])
        kind, text = action["do"], action.get("text", "")
        if kind == "type_after":
            self.place(cell)
            self.type(text)
        elif kind == "new_paragraph":
            self.place(cell)
            self.type("\n" + text)
        elif kind == "type_over":
            self.place(cell, select_paragraph=True)
            self.type(text)
        elif kind == "paste_over":
            self.place(cell, select_paragraph=True)
            self.paste(text)
        elif kind == "paste_after":
            self.place(cell)
            self.paste(text)
        elif kind == "type_inside":
            self.place(cell, start=action["at"])
            self.type(text)
        elif kind == "hidden_after":
            self.place(cell)
            self.type(text)
            cursor = cell.createTextCursor()
            cursor.gotoEnd(False)
            cursor.goLeft(len(text), True)
            cursor.CharHidden = True
        elif kind == "tracked_delete":
            self.document.RecordChanges = True
            found = self.find(cell, text)
            self.controller.select(found)
            self.command(".uno:Delete")
            self.document.RecordChanges = False
        else:
            raise ValueError(f"unknown action {kind!r}")

    def find(self, cell, text: str):
        """Return the text range of the first occurrence of ``text`` in ``cell`` (Find & Replace).

        Searched, not counted in cursor steps: a field (7.4) or a content control (25) has a
        mark at its edge that takes a cursor step but is no character of the cell's text.
        """
        search = self.document.createSearchDescriptor()
        search.SearchString = text
        search.SearchCaseSensitive = True
        found = self.document.findAll(search)
        for index in range(found.Count):
            match = found.getByIndex(index)
            if match.Cell is not None and match.Cell.String == cell.String:
                return match
        raise LookupError(f"{text!r} is not in the cell")


def main() -> None:
    """Open the source form, do the actions, save it as .docx; soffice always stops."""
    job = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    process, context = start(Path(job["profile"]).resolve(), job.get("soffice", "soffice"))
    desktop = context.ServiceManager.createInstanceWithContext(
        "com.sun.star.frame.Desktop", context
    )
    try:
        document = desktop.loadComponentFromURL(
            Path(job["source"]).resolve().as_uri(), "_blank", 0, (prop("Hidden", True),)
        )
        if document is None:
            raise RuntimeError(f"LibreOffice could not open {job['source']}")
        person = Person(context, document)
        for action in job["actions"]:
            person.act(action)
        target = Path(job["target"]).resolve().as_uri()
        document.storeToURL(target, (prop("FilterName", "MS Word 2007 XML"),))
        document.close(True)
    finally:
        with contextlib.suppress(Exception):  # the bridge goes away as soffice quits
            desktop.terminate()
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """Stop soffice and its wrapper: the process group started for them."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


if __name__ == "__main__":
    main()
