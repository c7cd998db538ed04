import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MessageKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_KIND_UNSPECIFIED: _ClassVar[MessageKind]
    MESSAGE_KIND_REFERRAL: _ClassVar[MessageKind]
    MESSAGE_KIND_STATUS_UPDATE: _ClassVar[MessageKind]
    MESSAGE_KIND_WITHDRAWAL: _ClassVar[MessageKind]
    MESSAGE_KIND_RECEIPT: _ClassVar[MessageKind]
    MESSAGE_KIND_HASH_LIST: _ClassVar[MessageKind]
    MESSAGE_KIND_RECONCILE_REQUEST: _ClassVar[MessageKind]
    MESSAGE_KIND_RECONCILE_ANSWER: _ClassVar[MessageKind]
    MESSAGE_KIND_MEMBERSHIP_REFUSAL: _ClassVar[MessageKind]

class SignatureAlgorithm(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIGNATURE_ALGORITHM_UNSPECIFIED: _ClassVar[SignatureAlgorithm]
    SIGNATURE_ALGORITHM_ED25519: _ClassVar[SignatureAlgorithm]
    SIGNATURE_ALGORITHM_ML_DSA_65: _ClassVar[SignatureAlgorithm]

class HpkeSuite(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HPKE_SUITE_UNSPECIFIED: _ClassVar[HpkeSuite]
    HPKE_SUITE_X25519_SHA256_AES128GCM: _ClassVar[HpkeSuite]
    HPKE_SUITE_MLKEM768X25519_SHA256_AES256GCM: _ClassVar[HpkeSuite]
MESSAGE_KIND_UNSPECIFIED: MessageKind
MESSAGE_KIND_REFERRAL: MessageKind
MESSAGE_KIND_STATUS_UPDATE: MessageKind
MESSAGE_KIND_WITHDRAWAL: MessageKind
MESSAGE_KIND_RECEIPT: MessageKind
MESSAGE_KIND_HASH_LIST: MessageKind
MESSAGE_KIND_RECONCILE_REQUEST: MessageKind
MESSAGE_KIND_RECONCILE_ANSWER: MessageKind
MESSAGE_KIND_MEMBERSHIP_REFUSAL: MessageKind
SIGNATURE_ALGORITHM_UNSPECIFIED: SignatureAlgorithm
SIGNATURE_ALGORITHM_ED25519: SignatureAlgorithm
SIGNATURE_ALGORITHM_ML_DSA_65: SignatureAlgorithm
HPKE_SUITE_UNSPECIFIED: HpkeSuite
HPKE_SUITE_X25519_SHA256_AES128GCM: HpkeSuite
HPKE_SUITE_MLKEM768X25519_SHA256_AES256GCM: HpkeSuite

class EnvelopeHeader(_message.Message):
    __slots__ = ("version", "kind", "message_id", "sender", "recipient", "sender_key_ids", "recipient_key_id", "created_at", "expires_at", "roster_version")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    SENDER_KEY_IDS_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    ROSTER_VERSION_FIELD_NUMBER: _ClassVar[int]
    version: int
    kind: MessageKind
    message_id: str
    sender: str
    recipient: str
    sender_key_ids: _containers.RepeatedScalarFieldContainer[str]
    recipient_key_id: str
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    roster_version: int
    def __init__(self, version: _Optional[int] = ..., kind: _Optional[_Union[MessageKind, str]] = ..., message_id: _Optional[str] = ..., sender: _Optional[str] = ..., recipient: _Optional[str] = ..., sender_key_ids: _Optional[_Iterable[str]] = ..., recipient_key_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., roster_version: _Optional[int] = ...) -> None: ...

class Signature(_message.Message):
    __slots__ = ("key_id", "algorithm", "signature")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    algorithm: SignatureAlgorithm
    signature: bytes
    def __init__(self, key_id: _Optional[str] = ..., algorithm: _Optional[_Union[SignatureAlgorithm, str]] = ..., signature: _Optional[bytes] = ...) -> None: ...

class SignedMessage(_message.Message):
    __slots__ = ("header", "body", "signatures", "batch_proof")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    BATCH_PROOF_FIELD_NUMBER: _ClassVar[int]
    header: bytes
    body: bytes
    signatures: _containers.RepeatedCompositeFieldContainer[Signature]
    batch_proof: MerkleProof
    def __init__(self, header: _Optional[bytes] = ..., body: _Optional[bytes] = ..., signatures: _Optional[_Iterable[_Union[Signature, _Mapping]]] = ..., batch_proof: _Optional[_Union[MerkleProof, _Mapping]] = ...) -> None: ...

class MerkleProof(_message.Message):
    __slots__ = ("leaf_index", "tree_size", "path")
    LEAF_INDEX_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    leaf_index: int
    tree_size: int
    path: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, leaf_index: _Optional[int] = ..., tree_size: _Optional[int] = ..., path: _Optional[_Iterable[bytes]] = ...) -> None: ...

class SealedEnvelope(_message.Message):
    __slots__ = ("sender", "recipient", "recipient_key_id", "message_id", "suite", "ciphertext")
    SENDER_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SUITE_FIELD_NUMBER: _ClassVar[int]
    CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
    sender: str
    recipient: str
    recipient_key_id: str
    message_id: str
    suite: HpkeSuite
    ciphertext: bytes
    def __init__(self, sender: _Optional[str] = ..., recipient: _Optional[str] = ..., recipient_key_id: _Optional[str] = ..., message_id: _Optional[str] = ..., suite: _Optional[_Union[HpkeSuite, str]] = ..., ciphertext: _Optional[bytes] = ...) -> None: ...
