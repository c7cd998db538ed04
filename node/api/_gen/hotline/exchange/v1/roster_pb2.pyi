import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from node.api._gen.hotline.exchange.v1 import envelope_pb2 as _envelope_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MemberStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEMBER_STATUS_UNSPECIFIED: _ClassVar[MemberStatus]
    MEMBER_STATUS_FULL: _ClassVar[MemberStatus]
    MEMBER_STATUS_PROVISIONAL: _ClassVar[MemberStatus]
    MEMBER_STATUS_SUSPENDED: _ClassVar[MemberStatus]
    MEMBER_STATUS_REVOKED: _ClassVar[MemberStatus]

class FallbackKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FALLBACK_KIND_UNSPECIFIED: _ClassVar[FallbackKind]
    FALLBACK_KIND_DIRECT: _ClassVar[FallbackKind]
    FALLBACK_KIND_REFER: _ClassVar[FallbackKind]
MEMBER_STATUS_UNSPECIFIED: MemberStatus
MEMBER_STATUS_FULL: MemberStatus
MEMBER_STATUS_PROVISIONAL: MemberStatus
MEMBER_STATUS_SUSPENDED: MemberStatus
MEMBER_STATUS_REVOKED: MemberStatus
FALLBACK_KIND_UNSPECIFIED: FallbackKind
FALLBACK_KIND_DIRECT: FallbackKind
FALLBACK_KIND_REFER: FallbackKind

class SigningKey(_message.Message):
    __slots__ = ("key_id", "algorithm", "public_key", "not_before", "not_after")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    algorithm: _envelope_pb2.SignatureAlgorithm
    public_key: bytes
    not_before: _timestamp_pb2.Timestamp
    not_after: _timestamp_pb2.Timestamp
    def __init__(self, key_id: _Optional[str] = ..., algorithm: _Optional[_Union[_envelope_pb2.SignatureAlgorithm, str]] = ..., public_key: _Optional[bytes] = ..., not_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., not_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class HpkeKey(_message.Message):
    __slots__ = ("key_id", "suite", "public_key", "not_before", "not_after")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SUITE_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    suite: _envelope_pb2.HpkeSuite
    public_key: bytes
    not_before: _timestamp_pb2.Timestamp
    not_after: _timestamp_pb2.Timestamp
    def __init__(self, key_id: _Optional[str] = ..., suite: _Optional[_Union[_envelope_pb2.HpkeSuite, str]] = ..., public_key: _Optional[bytes] = ..., not_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., not_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Member(_message.Message):
    __slots__ = ("node_id", "organisation", "jurisdictions", "status", "endpoints", "signing_keys", "hpke_keys", "tls_cert_sha256", "designated_for", "required_signatures", "tls_cert_pem", "previous_tls_certs")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANISATION_FIELD_NUMBER: _ClassVar[int]
    JURISDICTIONS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    SIGNING_KEYS_FIELD_NUMBER: _ClassVar[int]
    HPKE_KEYS_FIELD_NUMBER: _ClassVar[int]
    TLS_CERT_SHA256_FIELD_NUMBER: _ClassVar[int]
    DESIGNATED_FOR_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    TLS_CERT_PEM_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_TLS_CERTS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    organisation: str
    jurisdictions: _containers.RepeatedScalarFieldContainer[str]
    status: MemberStatus
    endpoints: _containers.RepeatedScalarFieldContainer[str]
    signing_keys: _containers.RepeatedCompositeFieldContainer[SigningKey]
    hpke_keys: _containers.RepeatedCompositeFieldContainer[HpkeKey]
    tls_cert_sha256: str
    designated_for: _containers.RepeatedScalarFieldContainer[str]
    required_signatures: _containers.RepeatedScalarFieldContainer[_envelope_pb2.SignatureAlgorithm]
    tls_cert_pem: str
    previous_tls_certs: _containers.RepeatedCompositeFieldContainer[TlsCertificate]
    def __init__(self, node_id: _Optional[str] = ..., organisation: _Optional[str] = ..., jurisdictions: _Optional[_Iterable[str]] = ..., status: _Optional[_Union[MemberStatus, str]] = ..., endpoints: _Optional[_Iterable[str]] = ..., signing_keys: _Optional[_Iterable[_Union[SigningKey, _Mapping]]] = ..., hpke_keys: _Optional[_Iterable[_Union[HpkeKey, _Mapping]]] = ..., tls_cert_sha256: _Optional[str] = ..., designated_for: _Optional[_Iterable[str]] = ..., required_signatures: _Optional[_Iterable[_Union[_envelope_pb2.SignatureAlgorithm, str]]] = ..., tls_cert_pem: _Optional[str] = ..., previous_tls_certs: _Optional[_Iterable[_Union[TlsCertificate, _Mapping]]] = ...) -> None: ...

class TlsCertificate(_message.Message):
    __slots__ = ("sha256", "pem", "not_after")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    PEM_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    pem: str
    not_after: _timestamp_pb2.Timestamp
    def __init__(self, sha256: _Optional[str] = ..., pem: _Optional[str] = ..., not_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AuthorityKeys(_message.Message):
    __slots__ = ("threshold", "keys")
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    threshold: int
    keys: _containers.RepeatedCompositeFieldContainer[SigningKey]
    def __init__(self, threshold: _Optional[int] = ..., keys: _Optional[_Iterable[_Union[SigningKey, _Mapping]]] = ...) -> None: ...

class Fallback(_message.Message):
    __slots__ = ("kind", "node_id")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    kind: FallbackKind
    node_id: str
    def __init__(self, kind: _Optional[_Union[FallbackKind, str]] = ..., node_id: _Optional[str] = ...) -> None: ...

class Roster(_message.Message):
    __slots__ = ("network_id", "version", "issued_at", "expires_at", "authority", "members", "fallback")
    NETWORK_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    network_id: str
    version: int
    issued_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    authority: AuthorityKeys
    members: _containers.RepeatedCompositeFieldContainer[Member]
    fallback: Fallback
    def __init__(self, network_id: _Optional[str] = ..., version: _Optional[int] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., authority: _Optional[_Union[AuthorityKeys, _Mapping]] = ..., members: _Optional[_Iterable[_Union[Member, _Mapping]]] = ..., fallback: _Optional[_Union[Fallback, _Mapping]] = ...) -> None: ...

class SignedRoster(_message.Message):
    __slots__ = ("roster", "signatures")
    ROSTER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    roster: bytes
    signatures: _containers.RepeatedCompositeFieldContainer[_envelope_pb2.Signature]
    def __init__(self, roster: _Optional[bytes] = ..., signatures: _Optional[_Iterable[_Union[_envelope_pb2.Signature, _Mapping]]] = ...) -> None: ...
