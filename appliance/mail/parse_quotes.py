"""Folding a reply's quoted history and signature away from what the sender newly wrote.

Owns the patterns of English and Chinese mail clients (Outlook, Foxmail, QQ Mail,
NetEase, Gmail, Apple Mail, phones) that mark where new text ends.
"""
from __future__ import annotations

import re

_SEPARATOR = re.compile(
    r"^[\s\u00a0]*-{2,}[\s\u00a0]*(Original Message|Original|Forwarded message|Reply message|"
    r"原始邮件|原始郵件|原始信息|转发邮件|转发的邮件|回复的原邮件|原邮件)[\s\u00a0]*-{2,}[\s\u00a0]*$",
    re.IGNORECASE)
_ATTRIBUTION = re.compile(
    r"^(On\b.{0,300}\bwrote:|(在|于).{0,300}写道[:：]|.{0,300}于.{0,100}写道[:：])\s*$")
_ATTRIBUTION_START = re.compile(r"^On\s.{0,300}$")
_ATTRIBUTION_END = re.compile(r"^.{0,300}\bwrote:\s*$")
_HEADER_KEY = re.compile(
    r"^\*?(From|Sent|Date|To|Cc|Subject|发件人|发送时间|时间|日期|收件人|抄送|主题|"
    r"寄件者|寄件日期|收件者|副本|主旨)\*?\s*[:：]", re.IGNORECASE)
_FROM_KEY = re.compile(r"^\*?(From|发件人|寄件者)\*?\s*[:：]", re.IGNORECASE)
_SIGNATURE = re.compile(r"^-- ?$")
_MOBILE_FOOTER = re.compile(
    r"^(Sent from my .{1,40}|Sent from (Mail|Outlook|Yahoo Mail).{0,40}|Get Outlook for .{1,20}|"
    r"发自我的.{1,20}|来自我的.{1,20}|从我的.{1,20}发送|"
    r"发自(网易邮箱|QQ邮箱|手机QQ邮箱|Foxmail|腾讯企业邮).{0,20})\s*$", re.IGNORECASE)
_QUOTED = re.compile(r"^\s*>")


def _is_outlook_header_block(lines: list[str], index: int) -> bool:
    """A "From:" line followed closely by other header lines (not a lone "From:" in prose)."""
    if not _FROM_KEY.match(lines[index].strip()):
        return False
    following = [line.strip() for line in lines[index + 1:index + 6] if line.strip()]
    return sum(1 for line in following[:4] if _HEADER_KEY.match(line)) >= 2


def _is_history_start(lines: list[str], index: int) -> bool:
    line = lines[index].strip()
    if _SEPARATOR.match(line) or _ATTRIBUTION.match(line) or _SIGNATURE.match(lines[index]):
        return True
    if _MOBILE_FOOTER.match(line) or _is_outlook_header_block(lines, index):
        return True
    if re.fullmatch(r"_{10,}", line):  # Outlook's rule above its header block
        return index + 1 < len(lines) and _is_outlook_header_block(lines, index + 1)
    # Gmail and Apple Mail wrap a long attribution across two lines.
    return bool(_ATTRIBUTION_START.match(line) and index + 1 < len(lines)
                and _ATTRIBUTION_END.match(lines[index + 1].strip()))


def _history_start(lines: list[str]) -> int:
    for index in range(len(lines)):
        if _is_history_start(lines, index):
            return index
    # Without a marker, a trailing run of quoted lines is history.
    start = len(lines)
    for index in range(len(lines) - 1, -1, -1):
        if _QUOTED.match(lines[index]):
            start = index
        elif lines[index].strip():
            break
    return start


def fold_quoted(text: str) -> tuple[str, str]:
    """Split reply text into (new part, folded history and signature).

    Quoted lines above the cut (bottom-posting) move to the history too. If nothing new
    would be left, the text is returned whole as the new part: a bare forward or a
    reply written inside the quote must not vanish.
    """
    lines = (text or "").replace("\r\n", "\n").split("\n")
    cut = _history_start(lines)
    head = lines[:cut]
    kept = [line for line in head if not _QUOTED.match(line)]
    moved = [line for line in head if _QUOTED.match(line)]
    new = "\n".join(kept).strip("\n").rstrip()
    if not new.strip():
        return (text or "").strip("\n"), ""
    history = "\n".join(moved + lines[cut:]).strip("\n")
    return new, history
