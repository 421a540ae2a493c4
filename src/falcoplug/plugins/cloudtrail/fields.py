"""The 68 fields of the official plugin, in its order (the Go plugin's ``extract.go`` field table)."""

from __future__ import annotations

from typing import Any, Final

from falcoplug.sdk import Event, ExtractPlugin, field

from .extract import (
    dumps,
    event_info,
    get_user,
    member,
    parse_record,
    read_only,
    s3_bytes,
    s3_uri,
    short_source,
    text,
    transferred,
    whole,
)


# -- fields read at a fixed path ---------------------------------------------------------------


def _string_at(name: str, display: str, path: str, desc: str, properties: tuple[str, ...] = ()) -> Any:
    """A string field: the JSON string at a dotted ``path`` of the record; no value when it is
    absent or not a string."""
    keys = tuple(path.split("."))
    if len(keys) == 1:
        (key,) = keys

        def get(self: CloudTrailFields, event: Event) -> str | None:
            record = self.record(event)
            return None if record is None else text(record.get(key))

    else:

        def get(self: CloudTrailFields, event: Event) -> str | None:
            record = self.record(event)
            return None if record is None else text(member(record, *keys))

    get.__name__ = get.__qualname__ = name.replace(".", "_")
    return field(name, display=display, desc=desc, properties=properties)(get)


def _whole_at(name: str, display: str, key: str, desc: str) -> Any:
    """A field holding a whole value: a string's text, anything else as compact JSON."""

    def get(self: CloudTrailFields, event: Event) -> str | None:
        record = self.record(event)
        return None if record is None else whole(record, key)

    get.__name__ = get.__qualname__ = name.replace(".", "_")
    return field(name, display=display, desc=desc)(get)


def _flag_at(name: str, display: str, key: str, desc: str) -> Any:
    """A boolean property as "true"/"false": "true" for JSON true and for the string "true" (how
    CloudTrail writes sessionCredentialFromConsole, which the official plugin reads as false),
    "false" for any other value, null included; absent: no value."""

    def get(self: CloudTrailFields, event: Event) -> str | None:
        record = self.record(event)
        if record is None or key not in record:
            return None
        value = record[key]
        return "true" if value is True or value == "true" else "false"

    get.__name__ = get.__qualname__ = name.replace(".", "_")
    return field(name, display=display, desc=desc)(get)


_NO_ERROR: Final = ' Will be "<NA>" (e.g. the NULL/empty/none value) if there was no error.'
_IN_JSON: Final = "the {what} of the cloudtrail event ({key} in the json)."
_UPLOAD, _DOWNLOAD = "bytesTransferredIn", "bytesTransferredOut"


class CloudTrailFields(ExtractPlugin):
    """The extraction half of the plugin (a nameless mixin: the plugin class is in ``__init__``)."""

    _last: tuple[bytes | None, dict[str, Any] | None] = (None, None)  # the last record parsed

    # -- extraction: the official fields, in the official order ------------------------------------

    def record(self, event: Event) -> dict[str, Any] | None:
        """The event's record, parsed once for all the fields asked of the event: a host asks
        for its fields in several requests (the condition's, then the output's), so the last
        record is kept with its payload, as the official plugin keeps it by event number."""
        payload = event.payload
        last_payload, last_record = self._last
        if payload == last_payload:
            return last_record
        record = parse_record(payload)
        self._last = (payload, record)
        return record

    ct_id = _string_at("ct.id", "Event ID", "eventID", _IN_JSON.format(what="unique ID", key="eventID"))
    ct_error = _string_at("ct.error", "Error Code", "errorCode", "The error code from the event." + _NO_ERROR)
    ct_errormessage = _string_at(
        "ct.errormessage", "Error Message", "errorMessage", "The description of an error." + _NO_ERROR
    )
    ct_time = _string_at(
        "ct.time", "Timestamp", "eventTime", _IN_JSON.format(what="timestamp", key="eventTime"),
        properties=("hidden",),
    )  # fmt: skip
    ct_src = _string_at(
        "ct.src", "AWS Service", "eventSource", _IN_JSON.format(what="source", key="eventSource")
    )

    @field("ct.shortsrc", display="AWS Service", desc=(
        "the source of the cloudtrail event (eventSource in the json, without the '.amazonaws.com' "
        "trailer)."))  # fmt: skip
    def ct_shortsrc(self, event: Event) -> str | None:
        record = self.record(event)
        source = None if record is None else text(record.get("eventSource"))
        return None if source is None else short_source(source)

    ct_name = _string_at("ct.name", "Event Name", "eventName", _IN_JSON.format(what="name", key="eventName"))

    @field("ct.user", display="User Name", properties=["conversation"],
           desc="the user of the cloudtrail event (userIdentity.userName in the json).")  # fmt: skip
    def ct_user(self, event: Event) -> str | None:
        record = self.record(event)
        if record is None:
            return None
        present, user = get_user(record)
        return user if present else None

    @field("ct.user.accountid", display="User Account ID",
           desc="the account id of the user of the cloudtrail event.")  # fmt: skip
    def ct_user_accountid(self, event: Event) -> str | None:
        record = self.record(event)
        if record is None:
            return None
        account = text(member(record, "userIdentity", "accountId"))
        return account if account is not None else text(record.get("recipientAccountId"))

    ct_user_identitytype = _string_at(
        "ct.user.identitytype", "User Identity Type", "userIdentity.type",
        "the kind of user identity (e.g. Root, IAMUser,AWSService, etc.)",
    )  # fmt: skip
    ct_user_principalid = _string_at(
        "ct.user.principalid", "User Principal Id", "userIdentity.principalId",
        "A unique identifier for the user that made the request.",
    )  # fmt: skip
    ct_user_arn = _string_at(
        "ct.user.arn", "User ARN", "userIdentity.arn",
        "the Amazon Resource Name (ARN) of the user that made the request.",
    )  # fmt: skip
    ct_region = _string_at(
        "ct.region", "Region", "awsRegion", _IN_JSON.format(what="region", key="awsRegion")
    )
    ct_response_subnetid = _string_at(
        "ct.response.subnetid", "Response Subnet ID", "responseElements.subnetId",
        "the subnet ID included in the response.",
    )  # fmt: skip
    ct_response_reservationid = _string_at(
        "ct.response.reservationid", "Response Reservation ID", "responseElements.reservationId",
        "the reservation ID included in the response.",
    )  # fmt: skip
    ct_response = _whole_at("ct.response", "Response Elements", "responseElements", "All response elements.")
    ct_request_availabilityzone = _string_at(
        "ct.request.availabilityzone", "Request Availability Zone", "requestParameters.availabilityZone",
        "the availability zone included in the request.",
    )  # fmt: skip
    ct_request_cluster = _string_at(
        "ct.request.cluster", "Request Cluster", "requestParameters.cluster",
        "the cluster included in the request.",
    )  # fmt: skip
    ct_request_functionname = _string_at(
        "ct.request.functionname", "Request Function Name", "requestParameters.functionName",
        "the function name included in the request.",
    )  # fmt: skip
    ct_request_groupname = _string_at(
        "ct.request.groupname", "Request Group Name", "requestParameters.groupName",
        "the group name included in the request.",
    )  # fmt: skip
    ct_request_host = _string_at(
        "ct.request.host", "Request Host Name", "requestParameters.Host", "the host included in the request"
    )
    ct_request_name = _string_at(
        "ct.request.name", "Host Name", "requestParameters.name",
        "the name of the entity being acted on in the request.",
    )  # fmt: skip
    ct_request_policy = _string_at(
        "ct.request.policy", "Host Policy", "requestParameters.policy", "the policy included in the request"
    )
    ct_request_serialnumber = _string_at(
        "ct.request.serialnumber", "Request Serial Number", "requestParameters.serialNumber",
        "the serial number provided in the request.",
    )  # fmt: skip
    ct_request_servicename = _string_at(
        "ct.request.servicename", "Request Service", "requestParameters.serviceName",
        "the service name provided in the request.",
    )  # fmt: skip
    ct_request_subnetid = _string_at(
        "ct.request.subnetid", "Request Subnet ID", "requestParameters.subnetId",
        "the subnet ID provided in the request.",
    )  # fmt: skip
    ct_request_taskdefinition = _string_at(
        "ct.request.taskdefinition", "Request Task Definition", "requestParameters.taskDefinition",
        "the task definition prrovided in the request.",  # sic, as the official description
    )  # fmt: skip
    ct_request_username = _string_at(
        "ct.request.username", "Request User Name", "requestParameters.userName",
        "the username provided in the request.",
    )  # fmt: skip
    ct_request = _whole_at("ct.request", "Request Parameters", "requestParameters", "All request parameters.")
    ct_srcip = _string_at(
        "ct.srcip", "Source IP", "sourceIPAddress",
        "the IP address generating the event (sourceIPAddress in the json).", properties=("conversation",),
    )  # fmt: skip
    ct_useragent = _string_at(
        "ct.useragent", "User Agent", "userAgent",
        "the user agent generating the event (userAgent in the json).",
    )  # fmt: skip

    @field("ct.info", display="Info", properties=["info"], desc=(
        "summary information about the event. This varies depending on the event type and, for some "
        "events, it contains event-specific details."))  # fmt: skip
    def ct_info(self, event: Event) -> str | None:
        record = self.record(event)
        return None if record is None else event_info(record)

    ct_managementevent = _flag_at(
        "ct.managementevent", "Management Event", "managementEvent",
        "'true' if the event is a management event (AwsApiCall, AwsConsoleAction, AwsConsoleSignIn, or "
        "AwsServiceEvent), 'false' otherwise.",
    )  # fmt: skip

    @field("ct.readonly", display="Read Only", desc=(
        "'true' if the event only reads information (e.g. DescribeInstances), 'false' if the event "
        "modifies the state (e.g. RunInstances, CreateLoadBalancer...)."))  # fmt: skip
    def ct_readonly(self, event: Event) -> str | None:
        record = self.record(event)
        return None if record is None else read_only(record)

    ct_requestid = _string_at(
        "ct.requestid", "Request ID", "requestID", "The value that identifies the request."
    )
    ct_eventtype = _string_at(
        "ct.eventtype", "Event Type", "eventType",
        "Identifies the type of event that generated the event record.",
    )  # fmt: skip
    ct_apiversion = _string_at(
        "ct.apiversion", "API Version", "apiVersion",
        "The API version associated with the AwsApiCall eventType value.",
    )  # fmt: skip

    @field("ct.resources", display="Resources", desc="A list of resources accessed in the event.")
    def ct_resources(self, event: Event) -> str | None:
        record = self.record(event)
        resources = None if record is None else record.get("resources")
        if type(resources) is not list or not resources:
            return None
        return ",".join(dumps(resource) for resource in resources)

    ct_recipientaccountid = _string_at(
        "ct.recipientaccountid", "Recipient Account Id", "recipientAccountId",
        "The account ID that received this event.",
    )  # fmt: skip
    ct_serviceeventdetails = _whole_at(
        "ct.serviceeventdetails", "Service Event Details", "serviceEventDetails",
        "Identifies the service event, including what triggered the event and the result.",
    )  # fmt: skip
    ct_sharedeventid = _string_at(
        "ct.sharedeventid", "Shared Event ID", "sharedEventID",
        "GUID generated by CloudTrail to uniquely identify CloudTrail events.",
    )  # fmt: skip
    ct_vpcendpointid = _string_at(
        "ct.vpcendpointid", "VPC Endpoint ID", "vpcEndpointId",
        "Identifies the VPC endpoint in which requests were made.",
    )  # fmt: skip
    ct_eventcategory = _string_at(
        "ct.eventcategory", "Event Category", "eventCategory",
        "Shows the event category that is used in LookupEvents calls.",
    )  # fmt: skip
    ct_addendum_reason = _string_at(
        "ct.addendum.reason", "Reason", "addendum.reason",
        "The reason that the event or some of its contents were missing.",
    )  # fmt: skip
    ct_addendum_updatedfields = _string_at(
        "ct.addendum.updatedfields", "Updated Fields", "addendum.updatedFields",
        "The event record fields that are updated by the addendum.",
    )  # fmt: skip
    ct_addendum_originalrequestid = _string_at(
        "ct.addendum.originalrequestid", "Original Request ID", "addendum.originalRequestID",
        "The original unique ID of the request.",
    )  # fmt: skip
    ct_addendum_originaleventid = _string_at(
        "ct.addendum.originaleventid", "Original Event ID", "addendum.originalEventID",
        "The original event ID.",
    )  # fmt: skip
    ct_sessioncredentialfromconsole = _flag_at(
        "ct.sessioncredentialfromconsole", "Session Credential From Console", "sessionCredentialFromConsole",
        "Shows whether or not an event originated from an AWS Management Console session.",
    )  # fmt: skip
    ct_edgedevicedetails = _whole_at(
        "ct.edgedevicedetails", "Edge Device Details", "edgeDeviceDetails",
        "Information about edge devices that are targets of a request.",
    )  # fmt: skip
    ct_tlsdetails_tlsversion = _string_at(
        "ct.tlsdetails.tlsversion", "TLS Version", "tlsDetails.tlsVersion", "The TLS version of a request."
    )
    ct_tlsdetails_ciphersuite = _string_at(
        "ct.tlsdetails.ciphersuite", "TLS Cipher Suite", "tlsDetails.cipherSuite",
        "The cipher suite (combination of security algorithms used) of a request.",
    )  # fmt: skip
    ct_tlsdetails_clientprovidedhostheader = _string_at(
        "ct.tlsdetails.clientprovidedhostheader", "Client Provided Host Header",
        "tlsDetails.clientProvidedHostHeader", "The client-provided host name used in the service API call.",
    )  # fmt: skip
    ct_additionaleventdata = _whole_at(
        "ct.additionaleventdata", "Additional Event Data", "additionalEventData",
        "All additional event data attributes.",
    )  # fmt: skip

    @field("s3.uri", display="Key URI", properties=["conversation"], desc="the s3 URI (s3://<bucket>/<key>).")
    def s3_uri(self, event: Event) -> str | None:
        record = self.record(event)
        return None if record is None else s3_uri(record)

    s3_bucket = _string_at(
        "s3.bucket", "Bucket Name", "requestParameters.bucketName", "the bucket name for s3 events.",
        properties=("conversation",),
    )  # fmt: skip
    s3_key = _string_at("s3.key", "Key Name", "requestParameters.key", "the S3 key name.")

    @field("s3.bytes", display="Total Bytes", desc="the size of an s3 download or upload, in bytes.")
    def s3_bytes(self, event: Event) -> int | None:
        record = self.record(event)
        return None if record is None else s3_bytes(record)

    @field("s3.bytes.in", display="Bytes In", properties=["hidden"],
           desc="the size of an s3 upload, in bytes.")  # fmt: skip
    def s3_bytes_in(self, event: Event) -> int | None:
        data = self._additional(event)
        return transferred(data[_UPLOAD]) if data is not None and _UPLOAD in data else None

    @field("s3.bytes.out", display="Bytes Out", properties=["hidden"],
           desc="the size of an s3 download, in bytes.")  # fmt: skip
    def s3_bytes_out(self, event: Event) -> int | None:
        data = self._additional(event)
        return transferred(data[_DOWNLOAD]) if data is not None and _DOWNLOAD in data else None

    @field("s3.cnt.get", display="N Get Ops", properties=["hidden"],
           desc=("the number of get operations. This field is 1 for GetObject events, "
                 "0 otherwise."))  # fmt: skip
    def s3_cnt_get(self, event: Event) -> int | None:
        return 1 if self._event_name(event) == "GetObject" else None

    @field("s3.cnt.put", display="N Put Ops", properties=["hidden"],
           desc=("the number of put operations. This field is 1 for PutObject events, "
                 "0 otherwise."))  # fmt: skip
    def s3_cnt_put(self, event: Event) -> int | None:
        return 1 if self._event_name(event) == "PutObject" else None

    @field("s3.cnt.other", display="N Other Ops", properties=["hidden"], desc=(
        "the number of non I/O operations. This field is 0 for GetObject and PutObject events, 1 for all "
        "the other events."))  # fmt: skip
    def s3_cnt_other(self, event: Event) -> int | None:
        if self.record(event) is None:
            return None
        return None if self._event_name(event) in ("GetObject", "PutObject") else 1

    @field("ec2.name", display="Instance Name",
           desc="the name of the ec2 instances, typically stored in the instance tags.")  # fmt: skip
    def ec2_name(self, event: Event) -> str | None:
        record = self.record(event)
        items = member(record, "requestParameters", "tagSpecificationSet", "items")
        if type(items) is not list:
            return None
        name = ""
        for item in items:
            if type(item) is not dict or text(item.get("resourceType")) != "instance":
                continue
            tags = item.get("tags")
            for tag in tags if type(tags) is list else ():
                if type(tag) is dict and text(tag.get("key")) == "Name":
                    name = text(tag.get("value")) or ""
                    break  # the first Name tag of this item; a later instance item overrides it
        return name or None

    @field("ec2.imageid", display="Image Id",
           desc="the ID for the image used to run the ec2 instance in the response.")  # fmt: skip
    def ec2_imageid(self, event: Event) -> str | None:
        record = self.record(event)
        items = member(record, "responseElements", "tagSpecificationSet", "items")
        if type(items) is not list or not items or type(items[0]) is not dict:
            return None
        return text(items[0].get("imageId")) or None

    ecr_repository = _string_at(
        "ecr.repository", "ECR Repository name", "requestParameters.repositoryName",
        "the name of the ecr Repository specified in the request.",
    )  # fmt: skip
    ecr_imagetag = _string_at(
        "ecr.imagetag", "Image Tag", "requestParameters.imageTag",
        "the tag of the image specified in the request.",
    )  # fmt: skip
    iam_role = _string_at(
        "iam.role", "IAM Role", "requestParameters.roleName", "the IAM role specified in the request."
    )
    iam_policy = _string_at(
        "iam.policy", "IAM Policy", "requestParameters.policyName", "the IAM policy specified in the request."
    )

    def _additional(self, event: Event) -> dict[str, Any] | None:
        record = self.record(event)
        data = None if record is None else record.get("additionalEventData")
        return data if type(data) is dict else None

    def _event_name(self, event: Event) -> str | None:
        record = self.record(event)
        return None if record is None else text(record.get("eventName"))
