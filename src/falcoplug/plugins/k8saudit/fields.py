"""The ``ka.*`` fields of the audit event, the request and the pod, in the official order (the Go
plugin's ``fields.go`` + ``extract.go``); the init and ephemeral containers' follow in ``containers.py``."""

from __future__ import annotations

from falcoplug.sdk import Event, ExtractPlugin, field

from ..json import MISSING

from .walk import (
    RO,
    _array,
    _audit,
    _capabilities,
    _effective,
    _get,
    _host_ports,
    _images,
    _per_container,
    _repos,
    _rules_field,
    _scalar,
    _skip_nil,
    _subject_names,
    _walk,
    uri_param,
)


class AuditFields(ExtractPlugin):
    """The extraction half of the plugin (a nameless mixin: the plugin class is in ``__init__``)."""

    # -- fields (in the official order) ----------------------------------------------------------------------
    @field("ka.auditid", desc="The unique id of the audit event")
    def auditid(self, event: Event) -> str | None:
        return _scalar(_audit(event), "auditID")

    @field("ka.stage", desc="Stage of the request (e.g. RequestReceived, ResponseComplete, etc.)")
    def stage(self, event: Event) -> str | None:
        return _scalar(_audit(event), "stage")

    @field("ka.auth.decision", desc="The authorization decision")
    def auth_decision(self, event: Event) -> str | None:
        return _scalar(_audit(event), "annotations", "authorization.k8s.io/decision")

    @field("ka.auth.reason", desc="The authorization reason")
    def auth_reason(self, event: Event) -> str | None:
        return _scalar(_audit(event), "annotations", "authorization.k8s.io/reason")

    @field(
        "ka.auth.openshift.decision",
        desc=(
            "The authentication decision of the openshfit apiserver extention. Only available on "
            "openshift clusters"
        ),
    )
    def auth_openshift_decision(self, event: Event) -> str | None:
        return _scalar(_audit(event), "annotations", "authentication.openshift.io/decision")

    @field(
        "ka.validations.admission.policy.failure",
        desc="The validation failure reason from a Validation Admission Policy",
    )
    def validations_failure(self, event: Event) -> str | None:
        return _scalar(_audit(event), "annotations", "validation.policy.admission.k8s.io/validation_failure")

    @field("ka.security.pod.violations", desc="The violation reason for pod security policy")
    def security_pod_violations(self, event: Event) -> str | None:
        return _scalar(_audit(event), "annotations", "pod-security.kubernetes.io/audit-violations")

    @field(
        "ka.auth.openshift.username",
        desc=(
            "The user name performing the openshift authentication operation. Only available on openshift"
            " clusters"
        ),
    )
    def auth_openshift_username(self, event: Event) -> str | None:
        return _scalar(_audit(event), "annotations", "authentication.openshift.io/username")

    @field("ka.user.name", desc="The user name performing the request")
    def user_name(self, event: Event) -> str | None:
        return _scalar(_audit(event), "user", "username")

    @field("ka.user.groups", desc="The groups to which the user belongs")
    def user_groups(self, event: Event) -> list[str] | None:
        return _array(_audit(event), "user", "groups")

    @field("ka.impuser.name", desc="The impersonated user name")
    def impuser_name(self, event: Event) -> str | None:
        return _scalar(_audit(event), "impersonatedUser", "username")

    @field("ka.verb", desc="The action being performed")
    def verb(self, event: Event) -> str | None:
        return _scalar(_audit(event), "verb")

    @field("ka.uri", desc="The request URI as sent from client to server")
    def uri(self, event: Event) -> str | None:
        return _scalar(_audit(event), "requestURI")

    @field(
        "ka.uri.param",
        desc=(
            "The value of a given query parameter in the uri (e.g. when uri=/foo?key=val, "
            "ka.uri.param[key] is val)."
        ),
    )
    def uri_param(self, event: Event, key: str) -> str | None:
        uri = _scalar(_audit(event), "requestURI")
        return None if uri is None else uri_param(uri, key)

    @field("ka.target.name", desc="The target object name")
    def target_name(self, event: Event) -> str | None:
        return _scalar(_audit(event), "objectRef", "name")

    @field("ka.target.namespace", desc="The target object namespace")
    def target_namespace(self, event: Event) -> str | None:
        return _scalar(_audit(event), "objectRef", "namespace")

    @field("ka.target.resource", desc="The target object resource")
    def target_resource(self, event: Event) -> str | None:
        return _scalar(_audit(event), "objectRef", "resource")

    @field("ka.target.subresource", desc="The target object subresource")
    def target_subresource(self, event: Event) -> str | None:
        return _scalar(_audit(event), "objectRef", "subresource")

    @field("ka.target.pod.name", desc="The target pod name")
    def target_pod_name(self, event: Event) -> str | None:
        # As the Go plugin 0.18 gives it (checked against it): the name in the response to a
        # request on pods themselves, not on a subresource (exec, attach, status...).
        doc = _audit(event)
        if doc is None or _get(doc, "objectRef", "resource") != "pods":
            return None
        if _get(doc, "objectRef", "subresource") not in (MISSING, ""):
            return None
        return _scalar(doc, "responseObject", "metadata", "name")

    @field(
        "ka.req.binding.subjects",
        desc=(
            "When the request object refers to a cluster role binding, the subject (e.g. account/users) "
            "being linked by the binding"
        ),
    )
    def binding_subjects(self, event: Event) -> list[str] | None:
        return _array(_audit(event), RO, "subjects")

    @field(
        "ka.req.binding.subjects.user_names",
        desc=(
            "When the request object refers to a cluster role binding, the subject user names being "
            "linked by the binding"
        ),
    )
    def binding_user_names(self, event: Event) -> list[str] | None:
        return _subject_names(_audit(event), "User")

    @field(
        "ka.req.binding.subjects.serviceaccount_names",
        desc=(
            "When the request object refers to a cluster role binding, the subject service account names "
            "being linked by the binding"
        ),
    )
    def binding_serviceaccount_names(self, event: Event) -> list[str] | None:
        return _subject_names(_audit(event), "ServiceAccount")

    @field(
        "ka.req.binding.subjects.serviceaccount_ns_names",
        desc=(
            "When the request object refers to a cluster role binding, the subject serviceaccount "
            "namespaced names being linked by the binding, e.g. a list containing: "
            "mynamespace:myserviceaccount"
        ),
    )
    def binding_serviceaccount_ns_names(self, event: Event) -> list[str] | None:
        return _subject_names(_audit(event), "ServiceAccount", with_namespace=True)

    @field(
        "ka.req.binding.subjects.group_names",
        desc=(
            "When the request object refers to a cluster role binding, the subject group names being "
            "linked by the binding"
        ),
    )
    def binding_group_names(self, event: Event) -> list[str] | None:
        return _subject_names(_audit(event), "Group")

    @field(
        "ka.req.binding.role",
        desc=(
            "When the request object refers to a cluster role binding, the role being linked by the "
            "binding"
        ),
    )
    def binding_role(self, event: Event) -> str | None:
        return _scalar(_audit(event), RO, "roleRef", "name")

    @field(
        "ka.req.binding.subject.has_name",
        desc='Deprecated, always returns "N/A". Only provided for backwards compatibility',
    )
    def binding_subject_has_name(self, event: Event, name: str) -> str | None:
        # As the official plugin (and the legacy implementation before it): always "true".
        return None if _audit(event) is None else "true"

    @field("ka.req.configmap.name", desc="If the request object refers to a configmap, the configmap name")
    def configmap_name(self, event: Event) -> str | None:
        return _scalar(_audit(event), "objectRef", "name")

    @field(
        "ka.req.configmap.obj",
        desc="If the request object refers to a configmap, the entire configmap object",
    )
    def configmap_obj(self, event: Event) -> str | None:
        return _scalar(_audit(event), RO, "data")

    @field(
        "ka.req.pod.containers.args",
        desc="When the request object refers to a pod, the container's args.",
    )
    def containers_args(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "containers", index, "args")

    @field(
        "ka.req.pod.containers.command",
        desc="When the request object refers to a pod, the container's command.",
    )
    def containers_command(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "containers", index, "command")

    @field(
        "ka.req.pod.containers.name",
        desc="When the request object refers to a pod, the container's names.",
    )
    def containers_name(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "containers", index, "name")

    @field(
        "ka.req.pod.containers.image",
        desc="When the request object refers to a pod, the container's images.",
    )
    def containers_image(self, event: Event, index: int | None = None) -> list[str] | None:
        return _images(_audit(event), "containers", index)

    @field(
        "ka.req.container.image",
        desc="Deprecated by ka.req.pod.containers.image. Returns the image of the first container only",
    )
    def container_image(self, event: Event) -> str | None:
        images = _images(_audit(event), "containers", 0)
        return images[0] if images else None

    @field(
        "ka.req.pod.containers.image.repository",
        desc="The same as req.container.image, but only the repository part (e.g. falcosecurity/falco).",
    )
    def containers_image_repository(self, event: Event, index: int | None = None) -> list[str] | None:
        return _repos(_audit(event), "containers", index)

    @field(
        "ka.req.container.image.repository",
        desc=(
            "Deprecated by ka.req.pod.containers.image.repository. Returns the repository of the first "
            "container only"
        ),
    )
    def container_image_repository(self, event: Event) -> str | None:
        repos = _repos(_audit(event), "containers", 0)
        return repos[0] if repos else None

    @field(
        "ka.req.pod.host_ipc",
        desc="When the request object refers to a pod, the value of the hostIPC flag.",
    )
    def pod_host_ipc(self, event: Event) -> str | None:
        return _scalar(_audit(event), RO, "spec", "hostIPC")

    @field(
        "ka.req.pod.host_network",
        desc="When the request object refers to a pod, the value of the hostNetwork flag.",
    )
    def pod_host_network(self, event: Event) -> str | None:
        return _scalar(_audit(event), RO, "spec", "hostNetwork")

    @field("ka.req.container.host_network", desc="Deprecated alias for ka.req.pod.host_network")
    def container_host_network(self, event: Event) -> str | None:
        return _scalar(_audit(event), RO, "spec", "hostNetwork")

    @field(
        "ka.req.pod.host_pid",
        desc="When the request object refers to a pod, the value of the hostPID flag.",
    )
    def pod_host_pid(self, event: Event) -> str | None:
        return _scalar(_audit(event), RO, "spec", "hostPID")

    @field(
        "ka.req.pod.containers.host_port",
        desc="When the request object refers to a pod, all container's hostPort values.",
    )
    def containers_host_port(self, event: Event, index: int | None = None) -> list[str] | None:
        return _host_ports(_audit(event), "containers", index)

    @field(
        "ka.req.pod.containers.privileged",
        desc=(
            "When the request object refers to a pod, the value of the privileged flag for all "
            "containers."
        ),
    )
    def containers_privileged(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "containers", index, "securityContext", "privileged")

    @field(
        "ka.req.container.privileged",
        desc=(
            "Deprecated by ka.req.pod.containers.privileged. Returns true if any container has "
            "privileged=true"
        ),
    )
    def container_privileged(self, event: Event) -> str | None:
        doc = _audit(event)
        if doc is None:
            return None
        values = _walk(doc, None, (RO, "spec", "containers", "securityContext", "privileged"))
        if values is None:
            return None
        return "true" if any(v is True for v in values) else "false"

    @field(
        "ka.req.pod.containers.allow_privilege_escalation",
        desc=(
            "When the request object refers to a pod, the value of the allowPrivilegeEscalation flag for "
            "all containers"
        ),
    )
    def containers_allow_privilege_escalation(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "containers", index, "securityContext", "allowPrivilegeEscalation")

    @field(
        "ka.req.pod.containers.read_only_fs",
        desc=(
            "When the request object refers to a pod, the value of the readOnlyRootFilesystem flag for "
            "all containers"
        ),
    )
    def containers_read_only_fs(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "containers", index, "securityContext", "readOnlyRootFilesystem")

    @field(
        "ka.req.pod.run_as_user",
        desc=(
            "When the request object refers to a pod, the runAsUser uid specified in the security context"
            " for the pod. See ....containers.run_as_user for the runAsUser for individual containers"
        ),
    )
    def pod_run_as_user(self, event: Event) -> str | None:
        return _scalar(_audit(event), RO, "spec", "securityContext", "runAsUser")

    @field(
        "ka.req.pod.containers.run_as_user",
        desc="When the request object refers to a pod, the runAsUser uid for all containers",
    )
    def containers_run_as_user(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "containers", index, "securityContext", "runAsUser")

    @field(
        "ka.req.pod.containers.eff_run_as_user",
        desc=(
            "When the request object refers to a pod, the initial uid that will be used for all "
            "containers. This combines information from both the pod and container security contexts and "
            "uses 0 if no uid is specified"
        ),
    )
    def containers_eff_run_as_user(self, event: Event, index: int | None = None) -> list[str] | None:
        return _effective(_audit(event), "containers", index, "runAsUser")

    @field(
        "ka.req.pod.run_as_group",
        desc=(
            "When the request object refers to a pod, the runAsGroup gid specified in the security "
            "context for the pod. See ....containers.run_as_group for the runAsGroup for individual "
            "containers"
        ),
    )
    def pod_run_as_group(self, event: Event) -> str | None:
        return _scalar(_audit(event), RO, "spec", "securityContext", "runAsGroup")

    @field(
        "ka.req.pod.containers.run_as_group",
        desc="When the request object refers to a pod, the runAsGroup gid for all containers",
    )
    def containers_run_as_group(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "containers", index, "securityContext", "runAsGroup")

    @field(
        "ka.req.pod.containers.eff_run_as_group",
        desc=(
            "When the request object refers to a pod, the initial gid that will be used for all "
            "containers. This combines information from both the pod and container security contexts and "
            "uses 0 if no gid is specified"
        ),
    )
    def containers_eff_run_as_group(self, event: Event, index: int | None = None) -> list[str] | None:
        return _effective(_audit(event), "containers", index, "runAsGroup")

    @field(
        "ka.req.pod.containers.proc_mount",
        desc="When the request object refers to a pod, the procMount types for all containers",
    )
    def containers_proc_mount(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "containers", index, "securityContext", "procMount")

    @field(
        "ka.req.role.rules",
        desc="When the request object refers to a role/cluster role, the rules associated with the role",
    )
    def role_rules(self, event: Event) -> list[str] | None:
        return _array(_audit(event), RO, "rules")

    @field(
        "ka.req.role.rules.apiGroups",
        desc=(
            "When the request object refers to a role/cluster role, the api groups associated with the "
            "role's rules"
        ),
    )
    def role_rules_api_groups(self, event: Event, index: int | None = None) -> list[str] | None:
        return _rules_field(_audit(event), index, "apiGroups")

    @field(
        "ka.req.role.rules.nonResourceURLs",
        desc=(
            "When the request object refers to a role/cluster role, the non resource urls associated with"
            " the role's rules"
        ),
    )
    def role_rules_non_resource_urls(self, event: Event, index: int | None = None) -> list[str] | None:
        return _rules_field(_audit(event), index, "nonResourceURLs")

    @field(
        "ka.req.role.rules.verbs",
        desc=(
            "When the request object refers to a role/cluster role, the verbs associated with the role's "
            "rules"
        ),
    )
    def role_rules_verbs(self, event: Event, index: int | None = None) -> list[str] | None:
        return _rules_field(_audit(event), index, "verbs")

    @field(
        "ka.req.role.rules.resources",
        desc=(
            "When the request object refers to a role/cluster role, the resources associated with the "
            "role's rules"
        ),
    )
    def role_rules_resources(self, event: Event, index: int | None = None) -> list[str] | None:
        return _rules_field(_audit(event), index, "resources")

    @field(
        "ka.req.pod.fs_group",
        desc="When the request object refers to a pod, the fsGroup gid specified by the security context.",
    )
    def pod_fs_group(self, event: Event) -> str | None:
        return _scalar(_audit(event), RO, "spec", "securityContext", "fsGroup")

    @field(
        "ka.req.pod.supplemental_groups",
        desc=(
            "When the request object refers to a pod, the supplementalGroup gids specified by the "
            "security context."
        ),
    )
    def pod_supplemental_groups(self, event: Event) -> list[str] | None:
        return _array(_audit(event), RO, "spec", "securityContext", "supplementalGroups")

    @field(
        "ka.req.pod.containers.add_capabilities",
        desc="When the request object refers to a pod, all capabilities to add when running the container.",
    )
    def containers_add_capabilities(self, event: Event, index: int | None = None) -> list[str] | None:
        return _capabilities(_audit(event), "containers", index)

    @field("ka.req.service.type", desc="When the request object refers to a service, the service type")
    def service_type(self, event: Event) -> str | None:
        return _scalar(_audit(event), RO, "spec", "type")

    @field("ka.req.service.ports", desc="When the request object refers to a service, the service's ports")
    def service_ports(self, event: Event, index: int | None = None) -> list[str] | None:
        # As the official plugin: the path ends at "ports", so the array is one value (its JSON
        # text) and the index is never applied.
        doc = _audit(event)
        return None if doc is None else _skip_nil(_walk(doc, index, (RO, "spec", "ports")))

    @field(
        "ka.req.pod.volumes.hostpath",
        desc="When the request object refers to a pod, all hostPath paths specified for all volumes",
    )
    def volumes_hostpath(self, event: Event, index: int | None = None) -> list[str] | None:
        doc = _audit(event)
        return None if doc is None else _skip_nil(_walk(doc, index, (RO, "spec", "volumes", "hostPath", "path")))

    @field(
        "ka.req.volume.hostpath",
        desc=(
            "Deprecated by ka.req.pod.volumes.hostpath. Return true if the provided (host) path prefix is"
            " used by any volume"
        ),
    )
    def volume_hostpath(self, event: Event, path: str) -> str | None:
        doc = _audit(event)
        if doc is None:
            return None
        paths = _skip_nil(_walk(doc, None, (RO, "spec", "volumes", "hostPath", "path")))
        if paths is None:
            return None
        prefix = path[:-1] if path.endswith("*") else None
        for p in paths:
            if p == path or (prefix is not None and p.startswith(prefix)):
                return "true"
        return "false"

    @field(
        "ka.req.pod.volumes.flexvolume_driver",
        desc="When the request object refers to a pod, all flexvolume drivers specified for all volumes",
    )
    def volumes_flexvolume_driver(self, event: Event, index: int | None = None) -> list[str] | None:
        doc = _audit(event)
        return None if doc is None else _skip_nil(_walk(doc, index, (RO, "spec", "volumes", "flexVolume", "driver")))

    @field(
        "ka.req.pod.volumes.volume_type",
        desc="When the request object refers to a pod, all volume types for all volumes",
    )
    def volumes_volume_type(self, event: Event, index: int | None = None) -> list[str] | None:
        doc = _audit(event)
        if doc is None:
            return None
        volumes = _walk(doc, index, (RO, "spec", "volumes", ""))
        if volumes is None:
            return None
        return [key for v in volumes if type(v) is dict for key in v if key != "name"]

    @field("ka.resp.name", desc="The response object name")
    def resp_name(self, event: Event) -> str | None:
        return _scalar(_audit(event), "responseObject", "metadata", "name")

    @field("ka.response.code", desc="The response code")
    def response_code(self, event: Event) -> str | None:
        return _scalar(_audit(event), "responseStatus", "code")

    @field("ka.response.reason", desc="The response reason (usually present only for failures)")
    def response_reason(self, event: Event) -> str | None:
        return _scalar(_audit(event), "responseStatus", "reason")

    @field("ka.useragent", desc="The useragent of the client who made the request to the apiserver")
    def useragent(self, event: Event) -> str | None:
        return _scalar(_audit(event), "userAgent")

    @field("ka.sourceips", desc="The IP addresses of the client who made the request to the apiserver")
    def sourceips(self, event: Event, index: int | None = None) -> list[str] | None:
        ips = _array(_audit(event), "sourceIPs")
        if ips is None or index is None:
            return ips
        return [ips[index]] if index < len(ips) else None

    @field("ka.cluster.name", desc="The name of the k8s cluster")
    def cluster_name(self, event: Event) -> str | None:
        return _scalar(_audit(event), "annotations", "cluster_name")
