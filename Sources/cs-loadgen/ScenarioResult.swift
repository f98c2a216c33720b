import Foundation

/// The JSON document every scenario prints at the end (`make bench` collects them).
struct ScenarioResult: Codable, Sendable {
    /// `chat`, `idle`, `broadcast` or `storm`.
    var scenario: String
    /// `ok`, `failed` (a goal-independent error, see `notes`) or `skipped` (not measurable; see `notes`).
    var status: String
    var notes: [String] = []
    /// Scenario parameters as given.
    var parameters: [String: String] = [:]
    var startedAt: String = ISO8601DateFormatter().string(from: Date())
    var cpu: CPUReport?
    var chat: ChatMetrics?
    var idle: IdleMetrics?
    var broadcast: BroadcastMetrics?
    var storm: StormMetrics?

    init(scenario: String, status: String = "ok") {
        self.scenario = scenario
        self.status = status
    }

    /// Writes the result as pretty JSON to `path`, or to standard output.
    func write(to path: String?) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var data = try encoder.encode(self)
        data.append(0x0A)
        if let path {
            try data.write(to: URL(fileURLWithPath: path))
        } else {
            FileHandle.standardOutput.write(data)
        }
    }
}

/// Progress lines on standard error, at most one per interval.
struct ProgressLine {
    let interval: Double
    private var last: UInt64 = 0

    init(interval: Double) { self.interval = interval }

    /// Prints `text()` if the interval has passed (always when `force`).
    mutating func emit(force: Bool = false, _ text: () -> String) {
        guard interval > 0 else { return }
        let now = MonotonicClock.now()
        guard force || Double(now - last) / 1e9 >= interval else { return }
        last = now
        FileHandle.standardError.write(Data((text() + "\n").utf8))
    }
}

func logLine(_ text: String) {
    FileHandle.standardError.write(Data(("cs-loadgen: " + text + "\n").utf8))
}

func rounded(_ value: Double, _ digits: Int = 1) -> Double {
    let scale = pow(10, Double(digits))
    return (value * scale).rounded() / scale
}
