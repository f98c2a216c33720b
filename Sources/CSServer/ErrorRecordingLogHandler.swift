import Logging

/// Records the last warning or error a process logs in its `ProcessStats`, so that the
/// heartbeat shows it (`lastError`); logs nothing itself.
public struct ErrorRecordingLogHandler: LogHandler {
    let stats: ProcessStats
    public var logLevel: Logger.Level = .warning
    public var metadata: Logger.Metadata = [:]

    public init(stats: ProcessStats) { self.stats = stats }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var text = "\(event.level): \(event.message)"
        if let error = event.metadata?["error"] ?? metadata["error"] { text += " (\(error))" }
        stats.recordError(text)
    }
}
