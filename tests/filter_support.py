"""Test doubles for the filter and rules packages: static field tables and a dict ValueSource.

The field tables declare what the official rules files use, with the plugins' real types where they
are known (k8saudit: all strings; okta's ``countlast`` counters: uint64 with an index argument).
Where a type is not documented in our references, the field is declared as a string:
``jevt.rawtime``/``json.rawtime``, ``github.repo.public``, ``github.diff.has_secrets``,
``github.workflow.has_miners`` and the ``github.diff.committed_secrets.*`` fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from falcoplug.filter import FilterError
from falcoplug.filter.fields import (
    FT_ABSTIME,
    FT_BOOL,
    FT_BYTEBUF,
    FT_IPADDR,
    FT_IPNET,
    FT_RELTIME,
    FT_STRING,
    FT_UINT64,
    FieldInfo,
)

S, U = FT_STRING, FT_UINT64


@dataclass(frozen=True, slots=True, eq=False)
class StaticField:
    """A bound field; identity-hashed (one object per name and argument), like the framework's."""

    info: FieldInfo
    arg: str | None

    @property
    def text(self) -> str:
        return self.info.name if self.arg is None else f"{self.info.name}[{self.arg}]"


class StaticResolver:
    """A FieldResolver over a fixed list of FieldInfo, with libsinsp's argument checks and texts."""

    def __init__(self, source: str, infos: Iterable[FieldInfo]) -> None:
        self.source = source
        self._infos = {i.name: i for i in infos}
        self._cache: dict[tuple[str, str | None], StaticField] = {}

    def fields(self) -> list[FieldInfo]:
        return list(self._infos.values())

    def has_field(self, name: str) -> bool:
        return name in self._infos

    def resolve(self, name: str, arg: str | None) -> StaticField:
        key = (name, arg)
        if key not in self._cache:
            self._cache[key] = self._resolve(name, arg)
        return self._cache[key]

    def _resolve(self, name: str, arg: str | None) -> StaticField:
        text = name if arg is None else f"{name}[{arg}]"
        info = self._infos.get(name)
        if info is None:
            raise FilterError(f"filter_check called with nonexistent field {text}")
        if arg is None:
            if info.arg_required:
                raise FilterError(f"filter '{text}': {name} requires an argument but none provided")
            return StaticField(info, None)
        if not (info.arg_allowed or info.arg_required):
            raise FilterError(
                f"filter '{text}': {name} does not allow nor require an argument but one is provided: {arg}"
            )
        if info.arg_index and not info.arg_key:
            problem = _index_problem(arg)
            if problem:
                raise FilterError(f"filter {text} {name}{problem}{arg}")
        return StaticField(info, arg)


def _index_problem(arg: str) -> str:
    if not arg or (len(arg) > 1 and arg[0] == "0"):
        return " has an invalid index argument starting with 0: "
    if not arg.isdigit():
        return " has an invalid index argument not composed only by digits: "
    if int(arg) >= 1 << 64:
        return " has an invalid index argument not representable on 64 bit: "
    return ""


class DictValues:
    """A ValueSource over ``{"field[arg]": value}``; counts extractions per field."""

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self.values = dict(values or {})
        self.calls: dict[str, int] = {}

    def value(self, field: Any) -> Any:
        self.calls[field.text] = self.calls.get(field.text, 0) + 1
        return self.values.get(field.text)


def fi(
    name: str,
    ftype: int = S,
    *,
    is_list: bool = False,
    index: bool = False,
    key: bool = False,
    required: bool = False,
    add_output: bool = False,
) -> FieldInfo:
    return FieldInfo(
        name=name,
        ftype=ftype,
        is_list=is_list,
        arg_index=index,
        arg_key=key,
        arg_required=required,
        add_output=add_output,
    )


GENERIC = [
    fi("evt.num", U),
    fi("evt.time"),
    fi("evt.time.s"),
    fi("evt.time.iso8601"),
    fi("evt.datetime"),
    fi("evt.datetime.s"),
    fi("evt.rawtime", FT_ABSTIME),
    fi("evt.rawtime.s", FT_ABSTIME),
    fi("evt.rawtime.ns", FT_ABSTIME),
    fi("evt.reltime", FT_RELTIME),
    fi("evt.reltime.s", FT_RELTIME),
    fi("evt.reltime.ns", FT_RELTIME),
    fi("evt.pluginname"),
    fi("evt.plugininfo"),
    fi("evt.source"),
    fi("evt.is_async", FT_BOOL),
    fi("evt.asynctype"),
    fi("evt.hostname"),
]

JSON = [
    fi("json.value", key=True, required=True),
    fi("json.obj"),
    fi("json.rawtime"),
    fi("jevt.value", key=True, required=True),
    fi("jevt.obj"),
    fi("jevt.rawtime"),
]

_K8S_SCALARS = """ka.auditid ka.stage ka.auth.decision ka.auth.reason ka.user.name ka.impuser.name ka.verb ka.uri
ka.target.name ka.target.namespace ka.target.resource ka.target.subresource ka.target.pod.name ka.req.binding.role
ka.req.configmap.name ka.req.configmap.obj ka.req.container.image ka.req.container.image.repository
ka.req.pod.host_ipc ka.req.pod.host_network ka.req.container.host_network ka.req.pod.host_pid
ka.req.container.privileged ka.req.pod.run_as_user ka.req.pod.run_as_group ka.req.pod.fs_group
ka.req.service.type ka.resp.name ka.response.code ka.response.reason ka.useragent ka.cluster.name""".split()
_K8S_LISTS = """ka.user.groups ka.req.binding.subjects ka.req.pod.containers.image
ka.req.pod.containers.image.repository ka.req.pod.containers.host_port ka.req.pod.containers.privileged
ka.req.pod.containers.allow_privilege_escalation ka.req.pod.containers.read_only_fs
ka.req.pod.containers.run_as_user ka.req.pod.containers.eff_run_as_user ka.req.pod.containers.run_as_group
ka.req.pod.containers.eff_run_as_group ka.req.pod.containers.proc_mount ka.req.role.rules
ka.req.role.rules.apiGroups ka.req.role.rules.nonResourceURLs ka.req.role.rules.verbs ka.req.role.rules.resources
ka.req.pod.supplemental_groups ka.req.pod.containers.add_capabilities ka.req.service.ports
ka.req.pod.volumes.hostpath ka.req.pod.volumes.flexvolume_driver ka.req.pod.volumes.volume_type ka.sourceips
ka.req.pod.initContainers.image ka.req.pod.initContainers.image.repository ka.req.pod.initContainers.privileged
ka.req.pod.ephemeralContainers.image ka.req.pod.ephemeralContainers.image.repository
ka.req.pod.ephemeralContainers.privileged""".split()

K8SAUDIT = (
    [fi(n) for n in _K8S_SCALARS]
    + [fi(n, is_list=True, index=True) for n in _K8S_LISTS]
    + [
        fi("ka.uri.param", key=True, required=True),
        fi("ka.req.binding.subject.has_name", key=True, required=True),
        fi("ka.req.volume.hostpath", key=True, required=True),
    ]
)

_CT_STRINGS = """ct.id ct.error ct.time ct.src ct.shortsrc ct.name ct.user ct.user.accountid ct.user.identitytype
ct.user.principalid ct.user.arn ct.region ct.response.subnetid ct.response.reservationid ct.response
ct.request.availabilityzone ct.request.cluster ct.request.functionname ct.request.groupname ct.request.host
ct.request.name ct.request.policy ct.request.serialnumber ct.request.servicename ct.request.subnetid
ct.request.taskdefinition ct.request.username ct.srcip ct.useragent ct.info ct.managementevent ct.readonly
ct.requestid ct.eventtype ct.apiversion ct.resources ct.recipientaccountid ct.serviceevent
ct.additionaleventdata ct.request ct.vpcendpointid ct.eventcategory s3.bucket s3.key s3.uri ec2.name
ec2.imageid ecr.repository ecr.imagetag""".split()
CLOUDTRAIL = [fi(n) for n in _CT_STRINGS] + [
    fi(n, U) for n in "s3.bytes s3.bytes.in s3.bytes.out s3.cnt.get s3.cnt.put s3.cnt.other".split()
]

GCPAUDIT = [
    fi(n)
    for n in """gcp.user gcp.callerIP gcp.userAgent gcp.authorizationInfo gcp.serviceName
gcp.policyDelta gcp.request gcp.methodName gcp.cloudfunctions.function gcp.cloudsql.databaseId
gcp.compute.instanceId gcp.compute.networkId gcp.compute.subnetwork gcp.compute.subnetworkId gcp.dns.zone
gcp.iam.serviceAccount gcp.iam.serviceAccountId gcp.location gcp.logging.sink gcp.projectId gcp.resourceName
gcp.resourceType gcp.resourceLabels gcp.storage.bucket gcp.time""".split()
]

GITHUB = [
    fi(n)
    for n in """github.type github.action github.user github.owner github.org github.repo
github.repo.name github.repo.url github.repo.public github.collaborator.name github.collaborator.role
github.webhook.id github.webhook.type github.diff.has_secrets github.diff.committed_secrets.desc
github.diff.committed_secrets.files github.diff.committed_secrets.lines github.diff.committed_secrets.links
github.workflow.filename github.workflow.has_miners""".split()
]

OKTA = [
    fi(n)
    for n in """okta.app okta.evt.type okta.evt.legacytype okta.severity okta.message okta.actor.id
okta.actor.Type okta.actor.alternateid okta.actor.name okta.client.zone okta.client.ip okta.client.device
okta.client.id okta.client.geo.city okta.client.geo.state okta.client.geo.country okta.client.geo.postalcode
okta.client.geo.lat okta.client.geo.lon okta.useragent.os okta.useragent.browser okta.useragent.raw okta.result
okta.reason okta.transaction.id okta.transaction.type okta.requesturi okta.target.user.id
okta.target.user.alternateid okta.target.user.name okta.target.group.id okta.target.group.alternateid
okta.target.group.name okta.target.app.id okta.target.app.alternateid okta.target.app.name""".split()
] + [
    fi("okta.mfa.failure.countlast", U, index=True, required=True),
    fi("okta.mfa.deny.countlast", U, index=True, required=True),
]

# A source with one field of every type and shape, for the operator and semantics tests.
TEST_FIELDS = [
    fi("t.str"),
    fi("t.str2"),
    fi("t.num", U),
    fi("t.num2", U),
    fi("t.bool", FT_BOOL),
    fi("t.ip", FT_IPADDR),
    fi("t.net", FT_IPNET),
    fi("t.buf", FT_BYTEBUF),
    fi("t.rel", FT_RELTIME),
    fi("t.abs", FT_ABSTIME),
    fi("t.list", is_list=True),
    fi("t.list2", is_list=True),
    fi("t.numlist", U, is_list=True),
    fi("t.iplist", FT_IPADDR, is_list=True),
    fi("t.key", key=True, required=True),
    fi("t.idx", index=True),
    fi("t.opt", key=True),
    fi("t.added", add_output=True),
]

PLUGIN_VERSIONS = {
    "k8saudit": "0.18.0",
    "json": "0.7.0",
    "cloudtrail": "0.10.0",
    "gcpaudit": "0.3.0",
    "github": "0.8.0",
    "okta": "0.11.0",
}


def resolver(source: str = "test", infos: Iterable[FieldInfo] | None = None) -> StaticResolver:
    return StaticResolver(source, GENERIC + list(infos if infos is not None else TEST_FIELDS))


def official_sources() -> dict[str, StaticResolver]:
    """The event sources of the five official rules files, with the fields their plugins declare."""
    return {
        "k8s_audit": resolver("k8s_audit", K8SAUDIT + JSON),
        "aws_cloudtrail": resolver("aws_cloudtrail", CLOUDTRAIL + JSON),
        "gcp_auditlog": resolver("gcp_auditlog", GCPAUDIT + JSON),
        "github": resolver("github", GITHUB),
        "okta": resolver("okta", OKTA),
    }
