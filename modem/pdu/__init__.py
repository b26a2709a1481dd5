"""SMS PDU codec (3GPP TS 23.040 / 23.038, PDU mode of TS 27.005). Pure: no I/O, no clock.

``decode`` reads what a modem prints for +CMGR/+CMGL/+CMT/+CDS; ``encode_submit`` builds
what AT+CMGS takes; ``encode_deliver`` and ``encode_status_report`` feed the emulator.
Every malformed input raises ``modem.errors.PduError``.
"""

from modem.pdu.decode import decode
from modem.pdu.encode import encode_deliver, encode_status_report, encode_submit
from modem.pdu.segments import split_text
from modem.pdu.types import (
    Address,
    Concat,
    Deliver,
    EncodedPdu,
    Segments,
    StatusReport,
    Submit,
)

__all__ = [
    "Address",
    "Concat",
    "Deliver",
    "EncodedPdu",
    "Segments",
    "StatusReport",
    "Submit",
    "decode",
    "encode_deliver",
    "encode_status_report",
    "encode_submit",
    "split_text",
]
