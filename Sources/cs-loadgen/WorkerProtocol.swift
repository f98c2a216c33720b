import Foundation
import Histogram

/// One line a `hold` worker writes on its standard output (JSON).
struct WorkerEvent: Codable, Sendable {
    enum Kind: String, Codable, Sendable {
        /// A wave of connections settled.
        case progress
        /// Every connection was attempted; `connectLatency` holds the worker's histogram.
        case connected
        /// Receipts of one broadcast (sent unprompted once every connection has it, or on `collect`).
        case broadcast
        /// Answer to `stats`.
        case stats
        /// The worker closed its connections and exits.
        case closed
    }

    var event: Kind
    var opened: Int = 0
    var failed: Int = 0
    var failures: [String: Int]?
    var seconds: Double?
    var connectLatency: Histogram<UInt64>?
    var alive: Int?
    var rssBytes: Int?
    var cpuSeconds: Double?
    /// Broadcast id, receipts, and first/last receipt times (monotonic ns).
    var id: String?
    var count: Int?
    var first: UInt64?
    var last: UInt64?

    init(event: Kind) { self.event = event }
}

/// One line the parent writes to a worker's standard input (JSON).
struct WorkerCommand: Codable, Sendable {
    enum Kind: String, Codable, Sendable {
        case stats, collect, close
    }

    var cmd: Kind
    var id: String?
}

/// Writes JSON lines to standard output (one `write` per line, so lines never interleave).
enum JSONLines {
    static func emit(_ value: some Encodable) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        guard var data = try? encoder.encode(value) else { return }
        data.append(0x0A)
        FileHandle.standardOutput.write(data)
    }

    /// Splits bytes from `handle` into lines on a dedicated thread until end of file.
    static func lines(from handle: FileHandle) -> AsyncStream<Data> {
        AsyncStream { continuation in
            let thread = Thread {
                var pending = Data()
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    pending.append(chunk)
                    while let newline = pending.firstIndex(of: 0x0A) {
                        continuation.yield(pending[pending.startIndex..<newline])
                        pending = Data(pending[(newline + 1)...])
                    }
                }
                if !pending.isEmpty { continuation.yield(pending) }
                continuation.finish()
            }
            thread.start()
        }
    }
}
