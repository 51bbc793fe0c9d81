"""The CEF dictionary: each extension's full name, its short key, and its ECS field.

Facts from the ArcSight CEF specification and the field table of Logstash's
cef codec (ECS mode). ``{device}`` stands for ``observer`` or ``host``, as the
codec's ``device`` option says. ``priority`` decides which CEF field an ECS field
is written back as when several decode into it; ``timestamp`` fields are parsed
into times in ECS mode.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CefField:
    name: str
    key: str | None
    ecs: str
    priority: int = 0
    timestamp: bool = False


def _f(name: str, key: str | None, ecs: str, priority: int = 0, timestamp: bool = False) -> CefField:
    return CefField(name, key, ecs, priority, timestamp)


HEADER_LEGACY = ("cefVersion", "deviceVendor", "deviceProduct", "deviceVersion",
                 "deviceEventClassId", "name", "severity")
HEADER_ECS = ("[cef][version]", "[observer][vendor]", "[observer][product]", "[observer][version]",
              "[event][code]", "[cef][name]", "[event][severity]")

_TABLE: list[CefField] = [
    _f("agentAddress", "agt", "[agent][ip]"),
    _f("agentDnsDomain", None, "[cef][agent][registered_domain]", 10),
    _f("agentHostName", "ahost", "[agent][name]"),
    _f("agentId", "aid", "[agent][id]"),
    _f("agentMacAddress", "amac", "[agent][mac]"),
    _f("agentNtDomain", None, "[cef][agent][registered_domain]"),
    _f("agentReceiptTime", "art", "[event][created]", timestamp=True),
    _f("agentTimeZone", "atz", "[cef][agent][timezone]"),
    _f("agentTranslatedAddress", None, "[cef][agent][nat][ip]"),
    _f("agentTranslatedZoneExternalID", None, "[cef][agent][translated_zone][external_id]"),
    _f("agentTranslatedZoneURI", None, "[cef][agent][translated_zone][uri]"),
    _f("agentType", "at", "[agent][type]"),
    _f("agentVersion", "av", "[agent][version]"),
    _f("agentZoneExternalID", None, "[cef][agent][zone][external_id]"),
    _f("agentZoneURI", None, "[cef][agent][zone][uri]"),
    _f("applicationProtocol", "app", "[network][protocol]"),
    _f("baseEventCount", "cnt", "[cef][base_event_count]"),
    _f("bytesIn", "in", "[source][bytes]"),
    _f("bytesOut", "out", "[destination][bytes]"),
    _f("categoryDeviceType", "catdt", "[cef][device_type]"),
    _f("customerExternalID", None, "[organization][id]"),
    _f("customerURI", None, "[organization][name]"),
    _f("destinationAddress", "dst", "[destination][ip]"),
    _f("destinationDnsDomain", None, "[destination][registered_domain]", 10),
    _f("destinationGeoLatitude", "dlat", "[destination][geo][location][lat]"),
    _f("destinationGeoLongitude", "dlong", "[destination][geo][location][lon]"),
    _f("destinationHostName", "dhost", "[destination][domain]"),
    _f("destinationMacAddress", "dmac", "[destination][mac]"),
    _f("destinationNtDomain", "dntdom", "[destination][registered_domain]"),
    _f("destinationPort", "dpt", "[destination][port]"),
    _f("destinationProcessId", "dpid", "[destination][process][pid]"),
    _f("destinationProcessName", "dproc", "[destination][process][name]"),
    _f("destinationServiceName", None, "[destination][service][name]"),
    _f("destinationTranslatedAddress", None, "[destination][nat][ip]"),
    _f("destinationTranslatedPort", None, "[destination][nat][port]"),
    _f("destinationTranslatedZoneExternalID", None, "[cef][destination][translated_zone][external_id]"),
    _f("destinationTranslatedZoneURI", None, "[cef][destination][translated_zone][uri]"),
    _f("destinationUserId", "duid", "[destination][user][id]"),
    _f("destinationUserName", "duser", "[destination][user][name]"),
    _f("destinationUserPrivileges", "dpriv", "[destination][user][group][name]"),
    _f("destinationZoneExternalID", None, "[cef][destination][zone][external_id]"),
    _f("destinationZoneURI", None, "[cef][destination][zone][uri]"),
    _f("deviceAction", "act", "[event][action]"),
    _f("deviceAddress", "dvc", "[{device}][ip]"),
    _f("deviceDirection", None, "[network][direction]"),
    _f("deviceDnsDomain", None, "[{device}][registered_domain]", 10),
    _f("deviceEventCategory", "cat", "[cef][category]"),
    _f("deviceExternalId", None, "[{device_external_id}]"),
    _f("deviceFacility", None, "[log][syslog][facility][code]"),
    _f("deviceHostName", "dvchost", "[{device_host_name}]"),
    _f("deviceInboundInterface", None, "[observer][ingress][interface][name]"),
    _f("deviceMacAddress", "dvcmac", "[{device}][mac]"),
    _f("deviceNtDomain", None, "[cef][nt_domain]"),
    _f("deviceOutboundInterface", None, "[observer][egress][interface][name]"),
    _f("devicePayloadId", None, "[cef][payload_id]"),
    _f("deviceProcessId", "dvcpid", "[process][pid]"),
    _f("deviceProcessName", None, "[process][name]"),
    _f("deviceReceiptTime", "rt", "@timestamp", timestamp=True),
    _f("deviceTimeZone", "dtz", "[event][timezone]"),
    _f("deviceTranslatedAddress", None, "[host][nat][ip]"),
    _f("deviceTranslatedZoneExternalID", None, "[cef][translated_zone][external_id]"),
    _f("deviceTranslatedZoneURI", None, "[cef][translated_zone][uri]"),
    _f("deviceVersion", None, "[observer][version]"),
    _f("deviceZoneExternalID", None, "[cef][zone][external_id]"),
    _f("deviceZoneURI", None, "[cef][zone][uri]"),
    _f("endTime", "end", "[event][end]", timestamp=True),
    _f("eventId", None, "[event][id]"),
    _f("eventOutcome", "outcome", "[event][outcome]"),
    _f("externalId", None, "[cef][external_id]"),
    _f("fileCreateTime", None, "[file][created]"),
    _f("fileHash", None, "[file][hash]"),
    _f("fileId", None, "[file][inode]"),
    _f("fileModificationTime", None, "[file][mtime]", timestamp=True),
    _f("fileName", "fname", "[file][name]"),
    _f("filePath", None, "[file][path]"),
    _f("filePermission", None, "[file][group]"),
    _f("fileSize", "fsize", "[file][size]"),
    _f("fileType", None, "[file][extension]"),
    _f("managerReceiptTime", "mrt", "[event][ingested]", timestamp=True),
    _f("message", "msg", "[message]"),
    _f("oldFileCreateTime", None, "[cef][old_file][created]", timestamp=True),
    _f("oldFileHash", None, "[cef][old_file][hash]"),
    _f("oldFileId", None, "[cef][old_file][inode]"),
    _f("oldFileModificationTime", None, "[cef][old_file][mtime]", timestamp=True),
    _f("oldFileName", None, "[cef][old_file][name]"),
    _f("oldFilePath", None, "[cef][old_file][path]"),
    _f("oldFilePermission", None, "[cef][old_file][group]"),
    _f("oldFileSize", None, "[cef][old_file][size]"),
    _f("oldFileType", None, "[cef][old_file][extension]"),
    _f("rawEvent", None, "[event][original]"),
    _f("Reason", "reason", "[event][reason]"),
    _f("requestClientApplication", None, "[user_agent][original]"),
    _f("requestContext", None, "[http][request][referrer]"),
    _f("requestCookies", None, "[cef][request][cookies]"),
    _f("requestMethod", None, "[http][request][method]"),
    _f("requestUrl", "request", "[url][original]"),
    _f("sourceAddress", "src", "[source][ip]"),
    _f("sourceDnsDomain", None, "[source][registered_domain]", 10),
    _f("sourceGeoLatitude", "slat", "[source][geo][location][lat]"),
    _f("sourceGeoLongitude", "slong", "[source][geo][location][lon]"),
    _f("sourceHostName", "shost", "[source][domain]"),
    _f("sourceMacAddress", "smac", "[source][mac]"),
    _f("sourceNtDomain", "sntdom", "[source][registered_domain]"),
    _f("sourcePort", "spt", "[source][port]"),
    _f("sourceProcessId", "spid", "[source][process][pid]"),
    _f("sourceProcessName", "sproc", "[source][process][name]"),
    _f("sourceServiceName", None, "[source][service][name]"),
    _f("sourceTranslatedAddress", None, "[source][nat][ip]"),
    _f("sourceTranslatedPort", None, "[source][nat][port]"),
    _f("sourceTranslatedZoneExternalID", None, "[cef][source][translated_zone][external_id]"),
    _f("sourceTranslatedZoneURI", None, "[cef][source][translated_zone][uri]"),
    _f("sourceUserId", "suid", "[source][user][id]"),
    _f("sourceUserName", "suser", "[source][user][name]"),
    _f("sourceUserPrivileges", "spriv", "[source][user][group][name]"),
    _f("sourceZoneExternalID", None, "[cef][source][zone][external_id]"),
    _f("sourceZoneURI", None, "[cef][source][zone][uri]"),
    _f("startTime", "start", "[event][start]", timestamp=True),
    _f("transportProtocol", "proto", "[network][transport]"),
    _f("type", None, "[cef][type]"),
]

# The numbered custom fields: floating point, IPv6 address, number and string, 1..15.
for _i in range(1, 16):
    for _long, _short, _ecs in (("deviceCustomFloatingPoint", "cfp", "device_custom_floating_point"),
                                ("deviceCustomIPv6Address", "c6a", "device_custom_ipv6_address"),
                                ("deviceCustomNumber", "cn", "device_custom_number"),
                                ("deviceCustomString", "cs", "device_custom_string")):
        _TABLE.append(_f(f"{_long}{_i}", f"{_short}{_i}", f"[cef][{_ecs}_{_i}][value]"))
        _TABLE.append(_f(f"{_long}{_i}Label", f"{_short}{_i}Label", f"[cef][{_ecs}_{_i}][label]"))


@dataclass(frozen=True)
class Mapping:
    """The lookups one codec instance needs, built once for its ``device`` setting."""

    #: short key -> full name (legacy decoding expands keys).
    key_to_name: dict[str, str]
    #: full name -> short key (encoding with ``reverse_mapping``).
    name_to_key: dict[str, str]
    #: full name or short key -> field (ECS decoding).
    by_name_or_key: dict[str, CefField]
    #: ECS field -> the CEF field written for it (encoding in ECS mode).
    by_ecs: dict[str, CefField]


def mapping(device: str) -> Mapping:
    subs = {
        "{device}": device,
        "{device_external_id}": "host][id" if device == "host" else "observer][name",
        "{device_host_name}": "host][name" if device == "host" else "observer][hostname",
    }
    fields: list[CefField] = []
    for f in _TABLE:
        ecs = f.ecs
        for k, v in subs.items():
            ecs = ecs.replace(k, v)
        fields.append(CefField(f.name, f.key, ecs, f.priority, f.timestamp))
    by_name_or_key: dict[str, CefField] = {}
    for f in fields:
        by_name_or_key[f.name] = f
        if f.key:
            by_name_or_key[f.key] = f
    by_ecs: dict[str, CefField] = {}
    for f in sorted(fields, key=lambda f: f.priority):
        by_ecs[f.ecs] = f          # the highest priority wins
    return Mapping(
        key_to_name={f.key: f.name for f in fields if f.key},
        name_to_key={f.name: f.key for f in fields if f.key},
        by_name_or_key=by_name_or_key,
        by_ecs=by_ecs,
    )
