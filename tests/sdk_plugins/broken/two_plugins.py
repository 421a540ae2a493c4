from falcoplug.sdk import ExtractPlugin, Event, field


class One(ExtractPlugin):
    name = "one"
    version = "0.1.0"

    @field("one.x")
    def x(self, event: Event) -> int:
        "x"
        return 1


class Two(ExtractPlugin):
    name = "two"
    version = "0.1.0"

    @field("two.x")
    def x(self, event: Event) -> int:
        "x"
        return 2
