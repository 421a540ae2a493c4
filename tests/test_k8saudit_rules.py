"""The official Falco rules for Kubernetes audit events over the bundled k8saudit and json plugins:
the rules file loads cleanly, and each sample audit log raises the alerts pinned below (Falco's
default ``rule_matching: first``: an event alerts for the first rule, in file order, that matches)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from falcoplug.cli.main import main
from falcoplug.framework import Inspector
from falcoplug.pipeline import Pipeline, Rules

from shared_data import SHARED_DATA

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "src" / "falcoplug" / "plugins" / "data"
# ../shared/data, else the copies bundled with the package
RULES = (SHARED_DATA if SHARED_DATA.is_dir() else BUNDLED) / "rules" / "k8s_audit_rules.yaml"
LOGS = (SHARED_DATA if SHARED_DATA.is_dir() else BUNDLED) / "k8s_audit"

# sample file -> the rules it fires, and why the rule's condition holds for its audit event(s).
# Most rules start with `kevt` (jevt.value[/stage] = ResponseComplete) and test ka.target.resource / ka.verb.
EXPECTED: dict[str, list[str]] = {
    # system:anonymous (a "system:" user, so not "Disallowed K8s User") was allowed (ka.auth.decision=allow)
    # to create a namespace, on a URI that is not a health endpoint.
    "anonymous_creates_namespace_foo": ["Anonymous Request Allowed"],
    # create of a clusterrolebinding whose requestObject.roleRef.name (ka.req.binding.role) is cluster-admin.
    "attach_cluster_admin_role": ["Attach to cluster-admin Role"],
    # stage ResponseStarted (kevt_started), a create on pods with subresource attach (pod_subresource).
    "attach_pod": ["Attach/Exec Pod"],
    # create of a clusterrole whose rules' resources (ka.req.role.rules.resources) include "pods/exec".
    "create_cluster_role_pod_exec": ["ClusterRole With Pod Exec Created"],
    # create of a clusterrole with resources ["*"]: ka.req.role.rules.resources intersects ("*").
    "create_cluster_role_wildcard_resources": ["ClusterRole With Wildcard Created"],
    # create of a clusterrole with verbs ["*"]: ka.req.role.rules.verbs intersects ("*").
    "create_cluster_role_wildcard_verbs": ["ClusterRole With Wildcard Created"],
    # create of a clusterrole whose second rule has verb "delete" (writable_verbs).
    "create_cluster_role_write_privileges": ["ClusterRole With Write Privileges Created"],
    # create of a clusterrole with only get/list: no wildcard, no write verb, so the activity rule, 201 response.
    "create_clusterrole": ["K8s ClusterRole Created"],
    # create of a clusterrolebinding to system:basic-user (not cluster-admin): the activity rule.
    "create_clusterrolebinding": ["K8s ClusterRoleBinding Created"],
    # create of a configmap whose data (ka.req.configmap.obj) has no credential word: the activity rule.
    "create_configmap": ["K8s ConfigMap Created"],
    "create_configmap_no_sensitive_values": ["K8s ConfigMap Created"],
    # six creates of a configmap whose data contains aws_access_key_id / password / ... (contains_private_credentials).
    "create_configmap_sensitive_values": ["Create/Modify Configmap With Private Credentials"] * 6,
    # create of a deployment answered 201 (response_successful: ka.response.code startswith 2).
    "create_deployment": ["K8s Deployment Created"],
    # a secret created in kube-system: "K8s Secret Created" excludes ka.target.namespace=kube-system, and
    # the admin user is in allowed_k8s_users.
    "create_kube_system_secret": [],
    # a pod created with requestObject.spec.hostNetwork=true (ka.req.pod.host_network intersects (true)),
    # image nginx not in k8s_audit_hostnetwork_images.
    "create_nginx_pod_hostnetwork": ["Create HostNetwork Pod"],
    # the second container has securityContext.privileged=true (the first has no securityContext):
    # ka.req.pod.containers.privileged is (true), image repositories nginx, mysql not allowed.
    "create_nginx_pod_no_secctx_1st_container_privileged_2nd_container": ["Create Privileged Pod"],
    # a plain pod by the replicaset controller: no privileged flag, no host network, no hostPath.
    "create_nginx_pod_nohostnetwork": [],
    # the only container has privileged=true.
    "create_nginx_pod_privileged": ["Create Privileged Pod"],
    # privileged is (false,true): intersects (true).
    "create_nginx_pod_privileged_2nd_container": ["Create Privileged Pod"],
    # a hostPath volume /etc (ka.req.pod.volumes.hostpath intersects the sensitive paths), image nginx.
    "create_nginx_pod_sensitive_mount": ["Create Sensitive Mount Pod"],
    "create_nginx_pod_sensitive_mount_2nd_container": ["Create Sensitive Mount Pod"],
    # a pod with nothing sensitive.
    "create_nginx_pod_unprivileged": [],
    # a get of a pod by system:node:minikube: no rule covers it.
    "create_nginx_pod_unsensitive_mount": [],
    # create of a service with requestObject.spec.type NodePort (ka.req.service.type=NodePort).
    "create_nginx_service_nodeport": ["Create NodePort Service"],
    # a ClusterIP service: the activity rule.
    "create_nginx_service_nonodeport": ["K8s Service Created"],
    # pods created in kube-public / kube-system with image nginx, not in allowed_kube_namespace_image_list.
    "create_pod_kube_public_namespace": ["Pod Created in Kube Namespace"],
    "create_pod_kube_system_namespace": ["Pod Created in Kube Namespace"],
    # a secret created in default by minikube-user (non_system_user), 201.
    "create_secret": ["K8s Secret Created"],
    "create_service": ["K8s Service Created"],
    # a token secret created by system:kube-controller-manager: non_system_user is false.
    "create_service_account_token_secret": [],
    "create_serviceaccount": ["K8s Serviceaccount Created"],
    # a service account myacct (not in known_sa_list) created in kube-public / kube-system, 201.
    "create_serviceaccount_kube_public_namespace": ["Service Account Created in Kube Namespace"],
    "create_serviceaccount_kube_system_namespace": ["Service Account Created in Kube Namespace"],
    # delete of the clusterrole system:kube-aggregator: a "system:" name, not an exception.
    "delete_cluster_role_kube_aggregator": ["System ClusterRole Modified/Deleted"],
    # deletes answered 200 by minikube-user: the matching activity rules.
    "delete_clusterrole": ["K8s ClusterRole Deleted"],
    "delete_clusterrolebinding": ["K8s ClusterRoleBinding Deleted"],
    "delete_configmap": ["K8s ConfigMap Deleted"],
    "delete_deployment": ["K8s Deployment Deleted"],
    "delete_namespace_foo": ["K8s Namespace Deleted"],
    "delete_secret": ["K8s Secret Deleted"],
    "delete_service": ["K8s Service Deleted"],
    "delete_serviceaccount": ["K8s Serviceaccount Deleted"],
    # stage ResponseStarted, create on pods/exec (ka.uri.param[command] is bash in the output).
    "exec_pod": ["Attach/Exec Pod"],
    # {"kind": 0}: not an audit event, dropped by the plugin; no event, no alert.
    "fal_01_003": [],
    # minikube-user is allowed, but namespace foo is not in allowed_namespaces.
    "minikube_creates_namespace_foo": ["Create Disallowed Namespace"],
    # a patch of the clusterrole system:node-problem-detector.
    "modify_cluster_role_node_problem_detector": ["System ClusterRole Modified/Deleted"],
    # some-user is neither a system user nor in allowed_k8s_users / eks_allowed_k8s_users: the first rule.
    "some-user_creates_namespace_foo": ["Disallowed K8s User"],
}


def test_the_official_rules_file_loads_cleanly():
    host = Inspector()
    host.load("k8saudit")
    host.load("json")
    rules = Rules(host)
    warnings = rules.load_paths([RULES])  # raises RulesError on any error (an unknown field is one)
    assert warnings == []
    assert rules.count == 48
    # Every field the rules read resolves to a plugin field of the right plugin.
    fields = {f.text for f in rules.engine.fields("k8s_audit")}
    assert {"ka.req.pod.ephemeralContainers.privileged", "jevt.value[/stage]", "jevt.rawtime"} <= fields
    host.destroy()


def test_every_sample_file_is_pinned():
    assert sorted(EXPECTED) == sorted(p.stem for p in LOGS.glob("*.json"))


def alerts_of(path: Path) -> list:
    host = Inspector()
    host.load("k8saudit")
    host.load("json")
    rules = Rules.load(host, [RULES])
    host.open("k8saudit", str(path))
    pipe = Pipeline(host, rules=rules)
    found = [alert for batch in host.batches() for alert in pipe.alerts(batch)]
    host.destroy()
    return found


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_rules_fired_by_each_sample(name):
    assert [a.rule.name for a in alerts_of(LOGS / f"{name}.json")] == EXPECTED[name]


def test_alert_texts():
    (exec_alert,) = alerts_of(LOGS / "exec_pod.json")
    assert exec_alert.message == (
        "Attach/Exec to pod (user=minikube-user pod=nginx-deployment-7998647bdf-phvq7 resource=pods ns=default "
        "action=exec command=bash)"
    )
    (priv,) = alerts_of(LOGS / "create_nginx_pod_privileged_2nd_container.json")
    assert priv.message == (
        "Pod started with privileged container (user=system:serviceaccount:kube-system:replicaset-controller "
        "pod=nginx-deployment-544b59f8b8-ffkxm resource=pods ns=default images=(nginx,mysql:latest) "
        "init_images=<NA> ephemeral_images=<NA>)"
    )
    (mount,) = alerts_of(LOGS / "create_nginx_pod_sensitive_mount.json")
    assert 'volumes=[{"hostPath":{"path":"/etc","type":""},"name":"etc"}]' in mount.message
    (node_port,) = alerts_of(LOGS / "create_nginx_service_nodeport.json")
    # As the official plugin: the whole ports array is one value.
    assert node_port.output_fields["ka.req.service.ports"] == ['[{"nodePort":30080,"port":80,"protocol":"TCP","targetPort":80}]']
    assert 'ports=([{"nodePort":30080,"port":80,"protocol":"TCP","targetPort":80}])' in node_port.message


def test_cli_over_the_samples_prints_alerts_and_summary():
    result = CliRunner().invoke(main, ["run", "-p", f"k8saudit||{LOGS}", "-p", "json", "-r", str(RULES)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == sum(len(v) for v in EXPECTED.values()) == 46
    assert any(": Warning Pod started with privileged container (" in line for line in lines)
    assert "Events processed: 51" in result.stderr and "Events detected: 46" in result.stderr
