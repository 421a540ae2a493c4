"""The bundled k8saudit plugin (a port of the official Go plugin): identity, the 100 ka.* fields
(metadata, and every field's value on every sample audit event and on crafted pods), the file
source (JSON lines, EventList documents, folders, drops) and event_to_string.

Expected field values are derived from the raw JSON in this file, with the standard library and the
field semantics written out plainly (``reference``), not with the plugin's helpers."""

from __future__ import annotations

import json
import logging
import os
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from falcoplug.framework import Inspector

from shared_data import K8S_AUDIT_DIR

ROOT = Path(__file__).resolve().parents[1]
# ../shared/data/k8s_audit, else the copy bundled with the package
DATA = K8S_AUDIT_DIR if K8S_AUDIT_DIR.is_dir() else ROOT / "src" / "falcoplug" / "plugins" / "data" / "k8s_audit"
SAMPLES = sorted(DATA.glob("*.json"))

# -- the field table of the official plugin (k8saudit 0.18, from its generated README) ---------------------
# name, is list, argument: None, "index" (optional index) or "key" (required key)
IDX, KEY = "index", "key"
FIELDS: list[tuple[str, bool, str | None]] = [
    ("ka.auditid", False, None), ("ka.stage", False, None), ("ka.auth.decision", False, None),
    ("ka.auth.reason", False, None), ("ka.auth.openshift.decision", False, None),
    ("ka.validations.admission.policy.failure", False, None), ("ka.security.pod.violations", False, None),
    ("ka.auth.openshift.username", False, None), ("ka.user.name", False, None), ("ka.user.groups", True, None),
    ("ka.impuser.name", False, None), ("ka.verb", False, None), ("ka.uri", False, None),
    ("ka.uri.param", False, KEY), ("ka.target.name", False, None), ("ka.target.namespace", False, None),
    ("ka.target.resource", False, None), ("ka.target.subresource", False, None), ("ka.target.pod.name", False, None),
    ("ka.req.binding.subjects", True, None), ("ka.req.binding.subjects.user_names", True, None),
    ("ka.req.binding.subjects.serviceaccount_names", True, None),
    ("ka.req.binding.subjects.serviceaccount_ns_names", True, None),
    ("ka.req.binding.subjects.group_names", True, None), ("ka.req.binding.role", False, None),
    ("ka.req.binding.subject.has_name", False, KEY), ("ka.req.configmap.name", False, None),
    ("ka.req.configmap.obj", False, None), ("ka.req.pod.containers.args", True, IDX),
    ("ka.req.pod.containers.command", True, IDX), ("ka.req.pod.containers.name", True, IDX),
    ("ka.req.pod.containers.image", True, IDX), ("ka.req.container.image", False, None),
    ("ka.req.pod.containers.image.repository", True, IDX), ("ka.req.container.image.repository", False, None),
    ("ka.req.pod.host_ipc", False, None), ("ka.req.pod.host_network", False, None),
    ("ka.req.container.host_network", False, None), ("ka.req.pod.host_pid", False, None),
    ("ka.req.pod.containers.host_port", True, IDX), ("ka.req.pod.containers.privileged", True, IDX),
    ("ka.req.container.privileged", False, None), ("ka.req.pod.containers.allow_privilege_escalation", True, IDX),
    ("ka.req.pod.containers.read_only_fs", True, IDX), ("ka.req.pod.run_as_user", False, None),
    ("ka.req.pod.containers.run_as_user", True, IDX), ("ka.req.pod.containers.eff_run_as_user", True, IDX),
    ("ka.req.pod.run_as_group", False, None), ("ka.req.pod.containers.run_as_group", True, IDX),
    ("ka.req.pod.containers.eff_run_as_group", True, IDX), ("ka.req.pod.containers.proc_mount", True, IDX),
    ("ka.req.role.rules", True, None), ("ka.req.role.rules.apiGroups", True, IDX),
    ("ka.req.role.rules.nonResourceURLs", True, IDX), ("ka.req.role.rules.verbs", True, IDX),
    ("ka.req.role.rules.resources", True, IDX), ("ka.req.pod.fs_group", False, None),
    ("ka.req.pod.supplemental_groups", True, None), ("ka.req.pod.containers.add_capabilities", True, IDX),
    ("ka.req.service.type", False, None), ("ka.req.service.ports", True, IDX),
    ("ka.req.pod.volumes.hostpath", True, IDX), ("ka.req.volume.hostpath", False, KEY),
    ("ka.req.pod.volumes.flexvolume_driver", True, IDX), ("ka.req.pod.volumes.volume_type", True, IDX),
    ("ka.resp.name", False, None), ("ka.response.code", False, None), ("ka.response.reason", False, None),
    ("ka.useragent", False, None), ("ka.sourceips", True, IDX), ("ka.cluster.name", False, None),
]  # fmt: skip
for _kind in ("initContainers", "ephemeralContainers"):
    for _leaf in ("name", "image", "image.repository", "command", "args", "privileged", "allow_privilege_escalation",
                  "read_only_fs", "run_as_user", "eff_run_as_user", "run_as_group", "eff_run_as_group", "proc_mount",
                  "add_capabilities", "host_port"):  # fmt: skip
        if not (_kind == "ephemeralContainers" and _leaf == "host_port"):
            FIELDS.append((f"ka.req.pod.{_kind}.{_leaf}", True, IDX))


# -- the reference: field values from the raw JSON, written from the field semantics -------------------------
NA = None


def text(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def at(doc: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return KeyError
        doc = doc[key]
    return doc


def scalar(doc: Any, *path: str) -> str | None:
    v = at(doc, *path)
    return NA if v is KeyError else text(v)


def listed(doc: Any, *path: str) -> list[str] | None:
    v = at(doc, *path)
    return [text(x) for x in v] or NA if isinstance(v, list) else NA


def chosen(items: Any, index: int | None) -> list[Any] | None:
    """The selected elements of a list (all, or the one at ``index``); None: not available."""
    if not isinstance(items, list):
        return None
    if index is None:
        return items
    return [items[index]] if index < len(items) else None


def containers(doc: Any, kind: str, index: int | None) -> list[Any] | None:
    return chosen(at(doc, "requestObject", "spec", kind), index)


def per_container(doc: Any, kind: str, index: int | None, *path: str) -> list[str] | None:
    items = containers(doc, kind, index)
    if items is None:
        return NA
    values = [at(c, *path) for c in items]
    return [text(v) for v in values if v is not KeyError] or NA


def images(doc: Any, kind: str, index: int | None) -> list[str] | None:
    items = containers(doc, kind, index)
    if items is None or any(at(c, "image") is KeyError for c in items):
        return NA
    return [text(c["image"]) for c in items] or NA


def repository(image: str) -> str:
    return image.split(":")[0].split("@")[0]


def effective(doc: Any, kind: str, index: int | None, key: str) -> list[str] | None:
    items = containers(doc, kind, index)
    if items is None:
        return NA
    pod = at(doc, "requestObject", "spec", "securityContext", key)
    default = "0" if pod is KeyError else text(pod)
    return [default if at(c, "securityContext", key) is KeyError else text(c["securityContext"][key]) for c in items] or NA


def capabilities(doc: Any, kind: str, index: int | None) -> list[str] | None:
    items = containers(doc, kind, index)
    if items is None:
        return NA
    out = []
    for c in items:
        add = at(c, "securityContext", "capabilities", "add")
        if isinstance(add, list):
            out += [text(x) for x in add]
        elif add is not KeyError:
            out.append(text(add))
    return out or NA


def host_ports(doc: Any, kind: str, index: int | None) -> list[str] | None:
    items = containers(doc, kind, index)
    if items is None:
        return NA
    out = []
    for c in items:
        ports = at(c, "ports")
        if ports is KeyError:
            continue
        if not isinstance(ports, list):
            return NA
        for p in ports:
            v = at(p, "hostPort")
            v = at(p, "containerPort") if v is KeyError else v
            if v is not KeyError:
                out.append(text(v))
    return out or NA


def rules_field(doc: Any, index: int | None, key: str) -> list[str] | None:
    items = chosen(at(doc, "requestObject", "rules"), index)
    if items is None:
        return NA
    out = []
    for rule in items:
        v = at(rule, key)
        if isinstance(v, list):
            out += [text(x) for x in v]
    return out or NA


def subjects(doc: Any, kind: str, ns: bool = False) -> list[str] | None:
    items = at(doc, "requestObject", "subjects")
    if not isinstance(items, list):
        return NA
    out = []
    for s in items:
        if isinstance(s, dict) and s.get("kind") == kind and "name" in s:
            out.append(f"{text(s.get('namespace', ''))}:{text(s['name'])}" if ns else text(s["name"]))
    return out or NA


def volumes(doc: Any, index: int | None) -> list[Any] | None:
    return chosen(at(doc, "requestObject", "spec", "volumes"), index)


def uri_param(doc: Any, key: str) -> str | None:
    uri = scalar(doc, "requestURI")
    if uri is None:
        return NA
    query = uri.partition("#")[0].partition("?")[2]
    if ";" in query:
        return NA
    return urllib.parse.parse_qs(query, keep_blank_values=True).get(key, [NA])[0]


def reference(doc: Any, name: str, arg: Any) -> Any:
    """The expected value of ``name[arg]`` for an audit event."""
    if not isinstance(doc, dict) or "auditID" not in doc:
        return NA
    simple = {
        "ka.auditid": ("auditID",), "ka.stage": ("stage",),
        "ka.auth.decision": ("annotations", "authorization.k8s.io/decision"),
        "ka.auth.reason": ("annotations", "authorization.k8s.io/reason"),
        "ka.auth.openshift.decision": ("annotations", "authentication.openshift.io/decision"),
        "ka.validations.admission.policy.failure": ("annotations", "validation.policy.admission.k8s.io/validation_failure"),
        "ka.security.pod.violations": ("annotations", "pod-security.kubernetes.io/audit-violations"),
        "ka.auth.openshift.username": ("annotations", "authentication.openshift.io/username"),
        "ka.user.name": ("user", "username"), "ka.impuser.name": ("impersonatedUser", "username"),
        "ka.verb": ("verb",), "ka.uri": ("requestURI",), "ka.target.name": ("objectRef", "name"),
        "ka.target.namespace": ("objectRef", "namespace"), "ka.target.resource": ("objectRef", "resource"),
        "ka.target.subresource": ("objectRef", "subresource"), "ka.req.binding.role": ("requestObject", "roleRef", "name"),
        "ka.req.configmap.name": ("objectRef", "name"), "ka.req.configmap.obj": ("requestObject", "data"),
        "ka.req.pod.host_ipc": ("requestObject", "spec", "hostIPC"),
        "ka.req.pod.host_network": ("requestObject", "spec", "hostNetwork"),
        "ka.req.container.host_network": ("requestObject", "spec", "hostNetwork"),
        "ka.req.pod.host_pid": ("requestObject", "spec", "hostPID"),
        "ka.req.pod.run_as_user": ("requestObject", "spec", "securityContext", "runAsUser"),
        "ka.req.pod.run_as_group": ("requestObject", "spec", "securityContext", "runAsGroup"),
        "ka.req.pod.fs_group": ("requestObject", "spec", "securityContext", "fsGroup"),
        "ka.req.service.type": ("requestObject", "spec", "type"), "ka.resp.name": ("responseObject", "metadata", "name"),
        "ka.response.code": ("responseStatus", "code"), "ka.response.reason": ("responseStatus", "reason"),
        "ka.useragent": ("userAgent",), "ka.cluster.name": ("annotations", "cluster_name"),
    }  # fmt: skip
    if name in simple:
        return scalar(doc, *simple[name])
    lists = {
        "ka.user.groups": ("user", "groups"), "ka.req.binding.subjects": ("requestObject", "subjects"),
        "ka.req.role.rules": ("requestObject", "rules"),
        "ka.req.pod.supplemental_groups": ("requestObject", "spec", "securityContext", "supplementalGroups"),
    }  # fmt: skip
    if name in lists:
        return listed(doc, *lists[name])
    if name == "ka.uri.param":
        return uri_param(doc, arg)
    if name == "ka.target.pod.name":  # the Go plugin's: the response's name, pods but no subresource
        on_pods = at(doc, "objectRef", "resource") == "pods" and at(doc, "objectRef", "subresource") in (KeyError, "")
        return scalar(doc, "responseObject", "metadata", "name") if on_pods else NA
    if name == "ka.req.binding.subject.has_name":
        return "true"
    if name.startswith("ka.req.binding.subjects."):
        kind = {"user_names": "User", "group_names": "Group"}.get(name.rsplit(".", 1)[1], "ServiceAccount")
        return subjects(doc, kind, ns=name.endswith("_ns_names"))
    if name == "ka.req.container.image":
        found = images(doc, "containers", 0)
        return found[0] if found else NA
    if name == "ka.req.container.image.repository":
        found = images(doc, "containers", 0)
        return repository(found[0]) if found else NA
    if name == "ka.req.container.privileged":
        items = containers(doc, "containers", None)
        if items is None:
            return NA
        return "true" if any(at(c, "securityContext", "privileged") is True for c in items) else "false"
    if name.startswith("ka.req.role.rules."):
        return rules_field(doc, arg, name.rsplit(".", 1)[1])
    if name == "ka.req.service.ports":
        ports = at(doc, "requestObject", "spec", "ports")
        return NA if ports is KeyError else [text(ports)]  # the whole array, one value (as the official)
    if name == "ka.req.pod.volumes.hostpath":
        items = volumes(doc, arg)
        return None if items is None else [text(v["hostPath"]["path"]) for v in items if at(v, "hostPath", "path") is not KeyError] or NA
    if name == "ka.req.pod.volumes.flexvolume_driver":
        items = volumes(doc, arg)
        return None if items is None else [text(v["flexVolume"]["driver"]) for v in items if at(v, "flexVolume", "driver") is not KeyError] or NA
    if name == "ka.req.pod.volumes.volume_type":
        items = volumes(doc, arg)
        return None if items is None else [k for v in items if isinstance(v, dict) for k in v if k != "name"] or NA
    if name == "ka.req.volume.hostpath":
        items = volumes(doc, None)
        if items is None:
            return NA
        paths = [v["hostPath"]["path"] for v in items if at(v, "hostPath", "path") is not KeyError]
        hit = any(p == arg or (arg.endswith("*") and p.startswith(arg[:-1])) for p in paths)
        return "true" if hit else "false"
    if name == "ka.sourceips":
        ips = listed(doc, "sourceIPs")
        return ips if ips is None or arg is None else ([ips[arg]] if arg < len(ips) else NA)
    # ka.req.pod.<kind>.<leaf>
    _, _, _, kind, leaf = name.split(".", 4)
    if leaf == "image":
        return images(doc, kind, arg)
    if leaf == "image.repository":
        found = images(doc, kind, arg)
        return None if found is None else [repository(i) for i in found]
    if leaf in ("name", "command", "args"):
        return per_container(doc, kind, arg, leaf)
    security = {"privileged": "privileged", "allow_privilege_escalation": "allowPrivilegeEscalation",
                "read_only_fs": "readOnlyRootFilesystem", "run_as_user": "runAsUser", "run_as_group": "runAsGroup",
                "proc_mount": "procMount"}  # fmt: skip
    if leaf in security:
        return per_container(doc, kind, arg, "securityContext", security[leaf])
    if leaf.startswith("eff_"):
        return effective(doc, kind, arg, "runAsUser" if leaf == "eff_run_as_user" else "runAsGroup")
    if leaf == "add_capabilities":
        return capabilities(doc, kind, arg)
    if leaf == "host_port":
        return host_ports(doc, kind, arg)
    raise AssertionError(f"no reference for {name}")


def requests() -> list[tuple[str, Any, str]]:
    """Every field, with several arguments: (name, arg, text of the request)."""
    out = []
    for name, _, kind in FIELDS:
        if kind is None:
            args: list[Any] = [None]
        elif kind == IDX:
            args = [None, 0, 1, 7]
        elif name == "ka.uri.param":
            args = ["command", "container", "stdin", "tty", "absent"]
        elif name == "ka.req.volume.hostpath":
            args = ["/etc", "/etc*", "/var/run/docker.sock", "/pro*", "/nope"]
        else:
            args = ["system:anonymous"]
        out += [(name, a, name if a is None else f"{name}[{a}]") for a in args]
    return out


def extract(path: Path | str, texts: list[str], config: str = "") -> list[tuple[str, list[Any]]]:
    """(event data, values) for every event of a file or folder."""
    host = Inspector()
    host.load("k8saudit", config)
    host.load("json")
    host.open("k8saudit", str(path))
    plan = host.plan("k8s_audit", [*texts, "evt.plugininfo"])
    rows = [(row[-1], row[:-1]) for batch in host.batches() for _, row in plan.rows(batch)]
    host.destroy()
    return rows


# -- metadata ---------------------------------------------------------------------------------------------------


def test_identity():
    host = Inspector()
    plugin = host.load("k8saudit")
    b = plugin.backend
    assert (b.get_name(), b.get_version(), b.get_id(), b.get_event_source()) == ("k8saudit", "0.18.0", 1, "k8s_audit")
    assert b.get_description() == "Read Kubernetes Audit Events and monitor Kubernetes Clusters"
    assert b.get_contact() == "github.com/falcosecurity/plugins"
    assert plugin.has_sourcing and plugin.has_extraction
    schema = json.loads(b.get_init_schema()[1])
    props = schema["properties"]
    assert props["maxEventSize"]["default"] == 262144
    assert props["webhookMaxBatchSize"]["default"] == 12582912
    assert props["sslCertificate"]["default"] == "/etc/falco/falco.pem"
    assert props["useAsync"]["type"] == "boolean"
    host.destroy()


def test_the_100_fields_with_their_types_lists_and_arguments():
    host = Inspector()
    fields = json.loads(host.load("k8saudit").backend.get_fields())
    host.destroy()
    assert len(fields) == len(FIELDS) == 100
    assert [f["name"] for f in fields] == [name for name, _, _ in FIELDS]
    for f, (name, is_list, arg) in zip(fields, FIELDS):
        assert f["type"] == "string", name
        assert bool(f.get("isList")) == is_list, name
        if arg is None:
            assert "arg" not in f, name
        elif arg == IDX:
            assert f["arg"] == {"isRequired": False, "isIndex": True, "isKey": False}, name
        else:
            assert f["arg"] == {"isRequired": True, "isIndex": False, "isKey": True}, name
        assert f["desc"] and "display" not in f and "properties" not in f, name
    desc = {f["name"]: f["desc"] for f in fields}
    assert desc["ka.req.binding.subject.has_name"] == 'Deprecated, always returns "N/A". Only provided for backwards compatibility'
    assert desc["ka.uri.param"].startswith("The value of a given query parameter in the uri (e.g. when uri=/foo?key=val")


# -- every field on every sample ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_every_field_on_the_sample(sample):
    reqs = requests()
    rows = extract(sample, [t for _, _, t in reqs])
    lines = [line for line in sample.read_text().splitlines() if line.strip()]
    docs = [json.loads(line) for line in lines]
    audit = [(line, d) for line, d in zip(lines, docs) if isinstance(d, dict) and d.get("kind") == "Event"]
    assert [data for data, _ in rows] == [line.strip() for line, _ in audit]  # one event per audit event, in order
    for (_, values), (_, doc) in zip(rows, audit):
        for (name, arg, req), got in zip(reqs, values):
            assert got == reference(doc, name, arg), req


def test_sample_values_spelled_out():
    """A few values written by hand, so that the reference itself is checked."""
    texts = ["ka.verb", "ka.response.code", "ka.uri.param[command]", "ka.uri.param[container]",
             "ka.req.pod.containers.image", "ka.req.pod.containers.privileged", "ka.req.container.privileged",
             "ka.req.pod.volumes.hostpath", "ka.req.volume.hostpath[/etc]", "ka.req.pod.volumes.volume_type",
             "ka.user.groups", "ka.target.pod.name", "ka.auth.decision"]  # fmt: skip
    (_, exec_pod), = extract(DATA / "exec_pod.json", texts)
    assert exec_pod[:4] == ["create", "101", "bash", "nginx1"]  # the first of container=nginx1&container=nginx1
    assert exec_pod[11:] == [None, "allow"]  # pods/exec: a subresource, no pod name (as the Go plugin)
    (_, priv2), = extract(DATA / "create_nginx_pod_privileged_2nd_container.json", texts)
    assert priv2[4:7] == [["nginx", "mysql:latest"], ["false", "true"], "true"]
    (_, mount), = extract(DATA / "create_nginx_pod_sensitive_mount_2nd_container.json", texts)
    assert mount[7:10] == [["/etc"], "true", ["hostPath"]]
    assert mount[10] == ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]


# -- crafted events: what the samples do not have ---------------------------------------------------------------

POD: dict[str, Any] = {
    "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse", "auditID": "crafted-1",
    "stage": "ResponseComplete", "verb": "create",
    "requestURI": "/api/v1/namespaces/prod/pods?fieldManager=kubectl+client&dryRun=All&x=%41%42",
    "user": {"username": "jane", "groups": ["dev", "system:authenticated"]},
    "impersonatedUser": {"username": "bob"}, "sourceIPs": ["10.0.0.1", "2001:db8::2"], "userAgent": "kubectl/v1.30",
    "objectRef": {"resource": "pods", "namespace": "prod", "name": "web", "apiVersion": "v1"},
    "responseStatus": {"metadata": {}, "code": 403, "reason": "Forbidden"},
    "annotations": {"authorization.k8s.io/decision": "forbid", "authorization.k8s.io/reason": "no RBAC",
                    "authentication.openshift.io/decision": "allow", "authentication.openshift.io/username": "os-user",
                    "validation.policy.admission.k8s.io/validation_failure": "[{\"message\":\"no\"}]",
                    "pod-security.kubernetes.io/audit-violations": "privileged (container \"app\")",
                    "cluster_name": "prod-eu"},
    "requestObject": {"kind": "Pod", "spec": {
        "hostNetwork": True, "hostPID": False, "hostIPC": True,
        "securityContext": {"runAsUser": 1000, "fsGroup": 2000, "supplementalGroups": [3, 4]},
        "containers": [
            {"name": "app", "image": "registry.local:5000/team/app:1.2", "command": ["/bin/app"], "args": ["-v", "2"],
             "ports": [{"containerPort": 80}, {"containerPort": 443, "hostPort": 8443}],
             "securityContext": {"privileged": True, "runAsUser": 0, "runAsGroup": 10, "procMount": "Unmasked",
                                 "allowPrivilegeEscalation": True, "readOnlyRootFilesystem": False,
                                 "capabilities": {"add": ["NET_ADMIN", "SYS_TIME"]}}},
            {"name": "side", "image": "busybox@sha256:abcd", "securityContext": {}},
        ],
        "initContainers": [
            {"name": "init", "image": "reg.example.com/i:1", "command": ["sh", "-c", "true"],
             "ports": [{"hostPort": 9000}],
             "securityContext": {"privileged": True, "runAsGroup": 5, "capabilities": {"add": ["SYS_ADMIN"]}}},
        ],
        "ephemeralContainers": [
            {"name": "debug", "image": "nicolaka/netshoot", "args": ["bash"],
             "securityContext": {"privileged": False, "allowPrivilegeEscalation": False, "procMount": "Default"}},
        ],
        "volumes": [{"name": "proc", "hostPath": {"path": "/proc"}},
                    {"name": "flex", "flexVolume": {"driver": "vendor/driver", "options": {"a": "b"}}},
                    {"name": "cfg", "configMap": {"name": "c"}, "extra": 1}],
    }},
}  # fmt: skip
BINDING: dict[str, Any] = {
    "kind": "Event", "auditID": "crafted-2", "stage": "ResponseComplete", "verb": "create",
    "requestURI": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?a=1;b=2",
    "objectRef": {"resource": "clusterrolebindings", "name": "b"},
    "responseStatus": {"code": 201},
    "requestObject": {"roleRef": {"name": "cluster-admin"}, "subjects": [
        {"kind": "User", "name": "alice"}, {"kind": "Group", "name": "devs"},
        {"kind": "ServiceAccount", "name": "builder", "namespace": "ci"}, {"kind": "User", "name": "bob"},
    ], "rules": [{"verbs": ["get", "list"], "resources": ["pods"]}, {"verbs": ["*"], "nonResourceURLs": ["/healthz"]}],
       "spec": {"ports": [{"port": 80, "nodePort": 30080}], "type": "NodePort"}},
    "stageTimestamp": "2024-05-01T10:00:00.5+02:00",
}  # fmt: skip
NOT_AUDIT: dict[str, Any] = {"kind": "Event", "stageTimestamp": "2024-05-01T10:00:00Z", "verb": "get"}  # no auditID


def crafted(tmp_path: Path) -> Path:
    pod = dict(POD, stageTimestamp="2024-05-01T08:00:00.123456789Z")
    path = tmp_path / "crafted.log"
    path.write_text("\n".join(json.dumps(d) for d in (pod, BINDING, NOT_AUDIT)) + "\n")
    return path


def test_every_field_on_crafted_events(tmp_path):
    path = crafted(tmp_path)
    reqs = requests()
    rows = extract(path, [t for _, _, t in reqs])
    docs = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 3
    for (_, values), doc in zip(rows, docs):
        for (name, arg, req), got in zip(reqs, values):
            assert got == reference(doc, name, arg), req
    # An event without auditID has no ka.* value at all.
    assert all(v is None for v in rows[2][1])


def test_crafted_values_spelled_out(tmp_path):
    texts = [
        "ka.req.pod.containers.privileged", "ka.req.pod.initContainers.privileged",
        "ka.req.pod.ephemeralContainers.privileged", "ka.req.pod.containers.image.repository",
        "ka.req.pod.containers.eff_run_as_user", "ka.req.pod.containers.eff_run_as_group",
        "ka.req.pod.containers.add_capabilities", "ka.req.pod.initContainers.add_capabilities",
        "ka.req.pod.containers.host_port", "ka.req.pod.containers.host_port[1]", "ka.req.pod.initContainers.host_port",
        "ka.req.pod.volumes.volume_type", "ka.req.volume.hostpath[/pro*]", "ka.uri.param[fieldManager]",
        "ka.uri.param[x]", "ka.sourceips", "ka.sourceips[1]", "ka.cluster.name", "ka.response.code",
        "ka.req.pod.containers.args", "ka.req.pod.containers.command[0]", "ka.req.pod.host_network",
        "ka.req.binding.subjects.serviceaccount_ns_names", "ka.req.role.rules.verbs", "ka.req.service.ports",
        "ka.uri.param[a]", "ka.req.pod.ephemeralContainers.image",
    ]  # fmt: skip
    rows = extract(crafted(tmp_path), texts)
    pod, binding = rows[0][1], rows[1][1]
    assert pod[:4] == [["true"], ["true"], ["false"], ["registry.local", "busybox"]]
    assert pod[4:6] == [["0", "1000"], ["10", "0"]]  # container securityContext, else the pod's, else 0
    assert pod[6:8] == [["NET_ADMIN", "SYS_TIME"], ["SYS_ADMIN"]]
    assert pod[8:11] == [["80", "8443"], None, ["9000"]]  # hostPort, else containerPort; container 1 has no ports
    assert pod[11:13] == [["hostPath", "flexVolume", "configMap", "extra"], "true"]
    assert pod[13:15] == ["kubectl client", "AB"]
    assert pod[15:19] == [["10.0.0.1", "2001:db8::2"], ["2001:db8::2"], "prod-eu", "403"]
    assert pod[19:22] == [['["-v","2"]'], ['["/bin/app"]'], "true"]
    assert binding[22:25] == [["ci:builder"], ["get", "list", "*"], ['[{"port":80,"nodePort":30080}]']]
    assert binding[25] is None  # a ';' in the query: Go's ParseQuery fails, so no value
    assert pod[26] == ["nicolaka/netshoot"]


# -- sourcing -----------------------------------------------------------------------------------------------------


def events(path: Path | str, config: str = "") -> list[tuple[int, str]]:
    host = Inspector()
    host.load("k8saudit", config)
    host.open("k8saudit", str(path))
    out = [(e.ts, e.payload.decode()) for e in host.events()]
    host.destroy()
    return out


def test_timestamps_are_stage_timestamps(tmp_path):
    got = events(crafted(tmp_path))
    assert [ts for ts, _ in got] == [1714550400123456789, 1714550400500000000, 1714557600000000000]


def test_payload_forms_and_drops(tmp_path, caplog):
    ev = {"kind": "Event", "auditID": "a", "stageTimestamp": "2024-01-01T00:00:00Z", "verb": "get"}
    lines = [
        json.dumps(ev),  # kept as written
        json.dumps({"kind": "EventList", "items": [dict(ev, auditID="b"), dict(ev, auditID="c")]}),
        json.dumps([dict(ev, auditID="d"), {"kind": "EventList", "items": [dict(ev, auditID="e")]}]),
        json.dumps([dict(ev, auditID="x"), {"kind": "Pod"}]),  # one element not recognised: all dropped
        "{not json",
        json.dumps({"kind": "EventList"}),  # no items: not recognised
        json.dumps({"kind": 0}),
        json.dumps(dict(ev, auditID="f", stageTimestamp=None)),
        json.dumps({k: v for k, v in ev.items() if k != "stageTimestamp"}),
        json.dumps(dict(ev, auditID="g", stageTimestamp="2024-13-01T00:00:00Z")),
        json.dumps(dict(ev, auditID="h", stageTimestamp="yesterday")),
        "",
        "   ",
        json.dumps(dict(ev, auditID="i", big="x" * 400)),
        json.dumps(dict(ev, auditID="j")) + "\r",
    ]
    path = tmp_path / "mixed.log"
    path.write_text("\n".join(lines))
    with caplog.at_level(logging.WARNING):
        got = events(path, '{"maxEventSize": 300}')
    ids = [json.loads(p)["auditID"] for _, p in got]
    assert ids == ["a", "b", "c", "d", "e", "j"]
    assert got[0][1] == lines[0]
    assert got[1][1] == json.dumps(dict(ev, auditID="b"), separators=(",", ":"))  # items: compact JSON
    messages = [r.getMessage() for r in caplog.records]
    assert sum("data not recognized as a k8s audit event" in m for m in messages) == 3
    assert sum("can't read stageTimestamp" in m for m in messages) == 1
    assert sum("parsing time" in m for m in messages) == 3
    assert sum("event larger than maxEventSize: size=" in m for m in messages) == 1
    big = len(json.dumps(dict(ev, auditID="i", big="x" * 400)))
    assert any(m.endswith(f"event larger than maxEventSize: size={big}") for m in messages)


def test_eventlist_document_over_several_lines(tmp_path):
    ev = {"kind": "Event", "auditID": "a", "stageTimestamp": "2024-01-01T00:00:00Z", "verb": "get"}
    doc = {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [ev, dict(ev, auditID="b")]}
    path = tmp_path / "list.json"
    path.write_text(json.dumps(doc, indent=2))
    got = events(path)
    assert [json.loads(p)["auditID"] for _, p in got] == ["a", "b"]


def test_folder_oldest_file_first(tmp_path):
    ev = {"kind": "Event", "stageTimestamp": "2024-01-01T00:00:00Z"}
    for i, name in enumerate(["c.log", "a.log", "b.log"]):
        (tmp_path / name).write_text(json.dumps(dict(ev, auditID=name)))
        os.utime(tmp_path / name, ns=(1_000_000_000 * (i + 1), 1_000_000_000 * (i + 1)))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "z.log").write_text(json.dumps(dict(ev, auditID="z")))
    assert [json.loads(p)["auditID"] for _, p in events(tmp_path)] == ["c.log", "a.log", "b.log"]


def test_open_errors():
    host = Inspector()
    host.load("k8saudit")
    with pytest.raises(Exception, match="no such file or directory"):
        host.open("k8saudit", "/nonexistent/audit.log")
    with pytest.raises(Exception, match='scheme "s3" is not supported'):
        host.open("k8saudit", "s3://bucket/audit.log")
    with pytest.raises(Exception, match="missing port"):
        host.open("k8saudit", "http://127.0.0.1/k8s-audit")
    with pytest.raises(Exception, match="needs a path"):
        host.open("k8saudit", "http://127.0.0.1:0")
    host.destroy()


def test_event_to_string_and_progress(tmp_path):
    path = crafted(tmp_path)
    host = Inspector()
    host.load("k8saudit")
    host.open("k8saudit", f"  {path}  ")  # surrounding spaces are trimmed, as Go's TrimSpace
    assert host.progress()[0] == 0.0
    infos = [(e.payload.decode(), e["evt.plugininfo"], e["evt.pluginname"]) for e in host.events()]
    assert all(payload == info and name == "k8saudit" for payload, info, name in infos)
    pct, note = host.progress()
    assert pct == 100.0 and note == f"{path.stat().st_size}/{path.stat().st_size} bytes"
    host.destroy()


def test_loaded_by_every_name():
    for location in ("k8saudit", "libk8saudit.so", "/usr/share/falco/plugins/libk8saudit.so", "falcoplug.plugins.k8saudit"):
        host = Inspector()
        assert host.load(location).name == "k8saudit"
        host.destroy()


def test_target_pod_name_as_the_go_plugin_gives_it(tmp_path):
    """What the Go plugin 0.18 gives (run against it): the response's name, on pods, no subresource."""
    base = {"kind": "Event", "stageTimestamp": "2024-05-01T08:00:00Z", "responseObject": {"metadata": {"name": "resp"}}}
    cases = [
        ({"resource": "pods", "name": "on"}, "resp"),
        ({"resource": "pods", "subresource": ""}, "resp"),
        ({"resource": "pods", "subresource": "exec", "name": "on"}, None),
        ({"resource": "pods", "subresource": "status"}, None),
        ({"resource": "deployments"}, None),
        ({"resource": "Pods"}, None),
        (None, None),
    ]
    path = tmp_path / "pods.log"
    path.write_text("\n".join(json.dumps(dict(base, auditID=str(i), **({"objectRef": ref} if ref else {})))
                              for i, (ref, _) in enumerate(cases)))  # fmt: skip
    rows = extract(path, ["ka.target.pod.name"])
    assert [values[0] for _, values in rows] == [want for _, want in cases]
