"""Every string field of an integrator request, checked at the boundary before any use case sees it, by the
rules of node.cases.fields (the ones the case domain and the exchange apply too). A refusal names the field by
its path in the request, as the use cases do: `urls[0].url`, `reporter.name`, `hashes[2].hash.value`."""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from node.cases.fields import check_field

__all__ = ["check_request"]


def check_request(message: Message, prefix: str = "") -> None:
    """Raise the InvalidArgument of the first string field (in field-number order, depth first) that breaks its
    rule. Empty strings are not checked here: whether a field is required is for the use case."""
    for descriptor, value in message.ListFields():
        path = prefix + descriptor.name
        repeated = descriptor.is_repeated
        values = list(value) if repeated else [value]
        for i, one in enumerate(values):
            where = f"{path}[{i}]" if repeated else path
            if descriptor.type == FieldDescriptor.TYPE_STRING:
                if one:
                    check_field(descriptor.name, one, field=where)
            elif descriptor.type == FieldDescriptor.TYPE_MESSAGE and not _is_map(descriptor):
                check_request(one, where + ".")


def _is_map(descriptor: FieldDescriptor) -> bool:
    entry = descriptor.message_type
    return entry is not None and entry.GetOptions().map_entry
