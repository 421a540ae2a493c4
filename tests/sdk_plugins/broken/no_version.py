from falcoplug.sdk import ExtractPlugin, Event, field


class NoVersion(ExtractPlugin):
    name = "noversion"

    @field("x.y")
    def y(self, event: Event) -> int:
        "A field."
        return 1
