"""User data header information elements (TS 23.040 §9.2.3.24)."""

from __future__ import annotations

from modem.pdu.types import Concat, UserDataHeader

IEI_CONCAT_8 = 0x00
IEI_PORT_8 = 0x04
IEI_PORT_16 = 0x05
IEI_CONCAT_16 = 0x08


def parse_elements(header: bytes) -> UserDataHeader:
    """Every (IEI, data) in the header. An element whose length runs past the header ends
    the walk: nothing after it can be delimited, yet the header length still says where the
    text starts, so the message itself stays readable."""
    elements: list[tuple[int, bytes]] = []
    index = 0
    while index + 2 <= len(header):
        iei, length = header[index], header[index + 1]
        end = index + 2 + length
        if end > len(header):
            break
        elements.append((iei, bytes(header[index + 2 : end])))
        index = end
    return tuple(elements)


def concat_of(elements: UserDataHeader) -> Concat | None:
    """The concatenation element. TS 23.040 §9.2.3.24.1 says to ignore one whose count or
    sequence number is 0 or whose sequence exceeds the count, so such a message is shown as
    a single part. If several are present the last usable one wins."""
    found: Concat | None = None
    for iei, data in elements:
        if iei == IEI_CONCAT_8 and len(data) == 3:
            candidate = Concat(reference=data[0], total=data[1], sequence=data[2], bits=8)
        elif iei == IEI_CONCAT_16 and len(data) == 4:
            reference = int.from_bytes(data[:2], "big")
            candidate = Concat(reference=reference, total=data[2], sequence=data[3], bits=16)
        else:
            continue
        if 0 < candidate.sequence <= candidate.total:
            found = candidate
    return found


def port_of(elements: UserDataHeader) -> tuple[int, int] | None:
    """(destination, originator) application ports (TS 23.040 §9.2.3.24.3 / .4)."""
    found: tuple[int, int] | None = None
    for iei, data in elements:
        if iei == IEI_PORT_8 and len(data) == 2:
            found = (data[0], data[1])
        elif iei == IEI_PORT_16 and len(data) == 4:
            found = (int.from_bytes(data[:2], "big"), int.from_bytes(data[2:], "big"))
    return found


def concat_header(reference: int, total: int, sequence: int) -> bytes:
    """A complete UDH (with its length octet) holding one 8-bit-reference concat element."""
    return bytes([5, IEI_CONCAT_8, 3, reference & 0xFF, total, sequence])
