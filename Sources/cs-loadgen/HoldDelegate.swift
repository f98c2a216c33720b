import NIOCore
import Synchronization

/// Broadcast marker: a broadcast's text contains `cs-lgb-<id>` (`<id>` alphanumeric), which is
/// how receivers recognise it whatever frame the notifier wraps it in.
enum BroadcastMarker {
    static let prefix = Array("cs-lgb-".utf8)

    static func text(id: String) -> String { "cs-lgb-\(id) load test announcement" }

    /// The id after the marker in `frame`, if the frame carries one.
    static func id(in frame: ByteBuffer) -> String? {
        guard let range = FrameScanner.contains(prefix, in: frame) else { return nil }
        return frame.withUnsafeReadableBytes { bytes in
            var end = range.upperBound
            while end < bytes.count, (bytes[end] >= 0x30 && bytes[end] <= 0x39) || (bytes[end] | 0x20 >= 0x61 && bytes[end] | 0x20 <= 0x7A) {
                end += 1
            }
            return end > range.upperBound ? String(decoding: bytes[range.upperBound..<end], as: UTF8.self) : nil
        }
    }
}

/// Who received which broadcast when, across one worker's connections.
final class BroadcastReceipts: Sendable {
    private struct Entry { var count = 0, first: UInt64 = .max, last: UInt64 = 0 }
    private let entries = Mutex<[String: Entry]>([:])
    private let expected = Atomic<Int>(0)
    private let aliveCount = Atomic<Int>(0)

    /// Sets how many connections are open (each broadcast is complete when all have it).
    func expect(_ connections: Int) {
        expected.store(connections, ordering: .relaxed)
        aliveCount.store(connections, ordering: .relaxed)
    }

    var alive: Int { aliveCount.load(ordering: .relaxed) }

    func disconnected() { aliveCount.subtract(1, ordering: .relaxed) }

    /// Records a receipt; the receipt completing the broadcast emits its event at once.
    func record(_ id: String, at time: UInt64) {
        let complete: Bool = entries.withLock { entries in
            var entry = entries[id] ?? Entry()
            entry.count += 1
            entry.first = min(entry.first, time)
            entry.last = max(entry.last, time)
            entries[id] = entry
            return entry.count == expected.load(ordering: .relaxed)
        }
        if complete { JSONLines.emit(event(for: id)) }
    }

    func event(for id: String) -> WorkerEvent {
        let entry = entries.withLock { $0[id] } ?? Entry()
        var event = WorkerEvent(event: .broadcast)
        event.id = id
        event.count = entry.count
        event.first = entry.count > 0 ? entry.first : nil
        event.last = entry.count > 0 ? entry.last : nil
        return event
    }
}

/// A held customer connection: idle, except that it notes broadcasts it receives.
final class HoldDelegate: ClientDelegate, @unchecked Sendable {
    let receipts: BroadcastReceipts

    init(eventLoop: any EventLoop, receipts: BroadcastReceipts) {
        self.receipts = receipts
        super.init(eventLoop: eventLoop)
    }

    override func received(_ connection: LoadConnection, frame: ByteBuffer, kind: FrameScanner.Kind) {
        guard let id = BroadcastMarker.id(in: frame) else { return }
        receipts.record(id, at: MonotonicClock.now())
    }

    override func closed(_ connection: LoadConnection, closeCode: UInt16?) {
        if helloSeen { receipts.disconnected() }
    }
}
