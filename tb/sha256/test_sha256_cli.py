"""`asicdv sha256` end to end on the RTL core."""

import hashlib

from asicdv import project
from asicdv.tools import cli


def test_cavp_file_all_pass(capsys):
    assert cli.main(["sha256", "--cavp", str(project.current().data("nist") / "SHA256ShortMsg.rsp")]) == 0
    assert capsys.readouterr().out.strip().endswith("SHA256ShortMsg.rsp: 65 passed, 0 failed")


def test_cavp_file_with_a_wrong_digest_fails(tmp_path, capsys):
    wrong = tmp_path / "wrong.rsp"
    wrong.write_text(
        f"Len = 24\nMsg = 616263\nMD = {'00' * 32}\n\nLen = 0\nMsg = 00\nMD = {hashlib.sha256(b'').hexdigest()}\n"
    )
    assert cli.main(["sha256", "--cavp", str(wrong)]) == 1
    out = capsys.readouterr().out
    assert "FAIL vector 0" in out and out.strip().endswith("wrong.rsp: 1 passed, 1 failed")


def test_msg_prints_the_digest(capsys):
    assert cli.main(["sha256", "--msg", "616263"]) == 0
    assert capsys.readouterr().out.strip() == hashlib.sha256(b"abc").hexdigest()
