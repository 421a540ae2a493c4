from falcoplug.sdk import ExtractPlugin, Event, field


class BadHint(ExtractPlugin):
    name = "badhint"
    version = "0.1.0"

    @field("bad.ratio")
    def ratio(self, event: Event) -> float:
        "A float has no field type."
        return 0.5
