"""The ``ka.req.pod.initContainers.*`` and ``ka.req.pod.ephemeralContainers.*`` fields (k8saudit
0.18), after :class:`AuditFields`'s: the SDK collects base classes' fields first, so the
official order holds."""

from __future__ import annotations

from falcoplug.sdk import Event, field

from .fields import AuditFields
from .walk import (
    _audit,
    _capabilities,
    _effective,
    _host_ports,
    _images,
    _per_container,
    _repos,
)


class ContainerFields(AuditFields):
    """The last fields of the official table (a nameless mixin, as :class:`AuditFields`)."""

    # -- init containers (k8saudit 0.18) ---------------------------------------------------------------------
    @field(
        "ka.req.pod.initContainers.name",
        desc="When the request object refers to a pod, the init containers names.",
    )
    def init_name(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "initContainers", index, "name")

    @field(
        "ka.req.pod.initContainers.image",
        desc="When the request object refers to a pod, the init containers images.",
    )
    def init_image(self, event: Event, index: int | None = None) -> list[str] | None:
        return _images(_audit(event), "initContainers", index)

    @field(
        "ka.req.pod.initContainers.image.repository",
        desc=(
            "The same as ka.req.pod.initContainers.image, but only the repository part (e.g. "
            "falcosecurity/falco)."
        ),
    )
    def init_image_repository(self, event: Event, index: int | None = None) -> list[str] | None:
        return _repos(_audit(event), "initContainers", index)

    @field(
        "ka.req.pod.initContainers.command",
        desc="When the request object refers to a pod, the init containers commands.",
    )
    def init_command(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "initContainers", index, "command")

    @field(
        "ka.req.pod.initContainers.args",
        desc="When the request object refers to a pod, the init containers args.",
    )
    def init_args(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "initContainers", index, "args")

    @field(
        "ka.req.pod.initContainers.privileged",
        desc=(
            "When the request object refers to a pod, the value of the privileged flag for all init "
            "containers."
        ),
    )
    def init_privileged(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "initContainers", index, "securityContext", "privileged")

    @field(
        "ka.req.pod.initContainers.allow_privilege_escalation",
        desc=(
            "When the request object refers to a pod, the value of the allowPrivilegeEscalation flag for "
            "all init containers."
        ),
    )
    def init_allow_privilege_escalation(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "initContainers", index, "securityContext", "allowPrivilegeEscalation")

    @field(
        "ka.req.pod.initContainers.read_only_fs",
        desc=(
            "When the request object refers to a pod, the value of the readOnlyRootFilesystem flag for "
            "all init containers."
        ),
    )
    def init_read_only_fs(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "initContainers", index, "securityContext", "readOnlyRootFilesystem")

    @field(
        "ka.req.pod.initContainers.run_as_user",
        desc="When the request object refers to a pod, the runAsUser uid for all init containers.",
    )
    def init_run_as_user(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "initContainers", index, "securityContext", "runAsUser")

    @field(
        "ka.req.pod.initContainers.eff_run_as_user",
        desc=(
            "When the request object refers to a pod, the initial uid that will be used for all init "
            "containers. This combines information from both the pod and container security contexts and "
            "uses 0 if no uid is specified."
        ),
    )
    def init_eff_run_as_user(self, event: Event, index: int | None = None) -> list[str] | None:
        return _effective(_audit(event), "initContainers", index, "runAsUser")

    @field(
        "ka.req.pod.initContainers.run_as_group",
        desc="When the request object refers to a pod, the runAsGroup gid for all init containers.",
    )
    def init_run_as_group(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "initContainers", index, "securityContext", "runAsGroup")

    @field(
        "ka.req.pod.initContainers.eff_run_as_group",
        desc=(
            "When the request object refers to a pod, the initial gid that will be used for all init "
            "containers. This combines information from both the pod and container security contexts and "
            "uses 0 if no gid is specified."
        ),
    )
    def init_eff_run_as_group(self, event: Event, index: int | None = None) -> list[str] | None:
        return _effective(_audit(event), "initContainers", index, "runAsGroup")

    @field(
        "ka.req.pod.initContainers.proc_mount",
        desc="When the request object refers to a pod, the procMount type for all init containers.",
    )
    def init_proc_mount(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "initContainers", index, "securityContext", "procMount")

    @field(
        "ka.req.pod.initContainers.add_capabilities",
        desc="When the request object refers to a pod, the capabilities added for all init containers.",
    )
    def init_add_capabilities(self, event: Event, index: int | None = None) -> list[str] | None:
        return _capabilities(_audit(event), "initContainers", index)

    @field(
        "ka.req.pod.initContainers.host_port",
        desc="When the request object refers to a pod, all init containers hostPort values.",
    )
    def init_host_port(self, event: Event, index: int | None = None) -> list[str] | None:
        return _host_ports(_audit(event), "initContainers", index)

    # -- ephemeral containers (k8saudit 0.18) ----------------------------------------------------------------
    @field(
        "ka.req.pod.ephemeralContainers.name",
        desc="When the request object refers to a pod, the ephemeral containers names.",
    )
    def ephemeral_name(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "ephemeralContainers", index, "name")

    @field(
        "ka.req.pod.ephemeralContainers.image",
        desc="When the request object refers to a pod, the ephemeral containers images.",
    )
    def ephemeral_image(self, event: Event, index: int | None = None) -> list[str] | None:
        return _images(_audit(event), "ephemeralContainers", index)

    @field(
        "ka.req.pod.ephemeralContainers.image.repository",
        desc=(
            "The same as ka.req.pod.ephemeralContainers.image, but only the repository part (e.g. "
            "falcosecurity/falco)."
        ),
    )
    def ephemeral_image_repository(self, event: Event, index: int | None = None) -> list[str] | None:
        return _repos(_audit(event), "ephemeralContainers", index)

    @field(
        "ka.req.pod.ephemeralContainers.command",
        desc="When the request object refers to a pod, the ephemeral containers commands.",
    )
    def ephemeral_command(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "ephemeralContainers", index, "command")

    @field(
        "ka.req.pod.ephemeralContainers.args",
        desc="When the request object refers to a pod, the ephemeral containers args.",
    )
    def ephemeral_args(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "ephemeralContainers", index, "args")

    @field(
        "ka.req.pod.ephemeralContainers.privileged",
        desc=(
            "When the request object refers to a pod, the value of the privileged flag for all ephemeral "
            "containers."
        ),
    )
    def ephemeral_privileged(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "ephemeralContainers", index, "securityContext", "privileged")

    @field(
        "ka.req.pod.ephemeralContainers.allow_privilege_escalation",
        desc=(
            "When the request object refers to a pod, the value of the allowPrivilegeEscalation flag for "
            "all ephemeral containers."
        ),
    )
    def ephemeral_allow_privilege_escalation(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "ephemeralContainers", index, "securityContext", "allowPrivilegeEscalation")

    @field(
        "ka.req.pod.ephemeralContainers.read_only_fs",
        desc=(
            "When the request object refers to a pod, the value of the readOnlyRootFilesystem flag for "
            "all ephemeral containers."
        ),
    )
    def ephemeral_read_only_fs(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "ephemeralContainers", index, "securityContext", "readOnlyRootFilesystem")

    @field(
        "ka.req.pod.ephemeralContainers.run_as_user",
        desc="When the request object refers to a pod, the runAsUser uid for all ephemeral containers.",
    )
    def ephemeral_run_as_user(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "ephemeralContainers", index, "securityContext", "runAsUser")

    @field(
        "ka.req.pod.ephemeralContainers.eff_run_as_user",
        desc=(
            "When the request object refers to a pod, the initial uid that will be used for all ephemeral"
            " containers. This combines information from both the pod and container security contexts and"
            " uses 0 if no uid is specified."
        ),
    )
    def ephemeral_eff_run_as_user(self, event: Event, index: int | None = None) -> list[str] | None:
        return _effective(_audit(event), "ephemeralContainers", index, "runAsUser")

    @field(
        "ka.req.pod.ephemeralContainers.run_as_group",
        desc="When the request object refers to a pod, the runAsGroup gid for all ephemeral containers.",
    )
    def ephemeral_run_as_group(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "ephemeralContainers", index, "securityContext", "runAsGroup")

    @field(
        "ka.req.pod.ephemeralContainers.eff_run_as_group",
        desc=(
            "When the request object refers to a pod, the initial gid that will be used for all ephemeral"
            " containers. This combines information from both the pod and container security contexts and"
            " uses 0 if no gid is specified."
        ),
    )
    def ephemeral_eff_run_as_group(self, event: Event, index: int | None = None) -> list[str] | None:
        return _effective(_audit(event), "ephemeralContainers", index, "runAsGroup")

    @field(
        "ka.req.pod.ephemeralContainers.proc_mount",
        desc="When the request object refers to a pod, the procMount type for all ephemeral containers.",
    )
    def ephemeral_proc_mount(self, event: Event, index: int | None = None) -> list[str] | None:
        return _per_container(_audit(event), "ephemeralContainers", index, "securityContext", "procMount")

    @field(
        "ka.req.pod.ephemeralContainers.add_capabilities",
        desc=(
            "When the request object refers to a pod, the capabilities added for all ephemeral "
            "containers."
        ),
    )
    def ephemeral_add_capabilities(self, event: Event, index: int | None = None) -> list[str] | None:
        return _capabilities(_audit(event), "ephemeralContainers", index)
