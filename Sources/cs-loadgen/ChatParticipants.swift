import NIOCore
import Synchronization

/// Counters and histograms shared by every connection of a chat run (atomics: no locks on the hot path).
final class ChatCounters: Sendable {
    let sent = Atomic<Int>(0)
    let acked = Atomic<Int>(0)
    let echoed = Atomic<Int>(0)
    let delivered = Atomic<Int>(0)
    let errors = Atomic<Int>(0)
    let disconnects = Atomic<Int>(0)
    let skippedSends = Atomic<Int>(0)
    let assignments = Atomic<Int>(0)
    let openingEchoes = Atomic<Int>(0)
    /// Customers may send measured messages while this is true.
    let sending = Atomic<Bool>(false)
    let errorCodes = Mutex<[String: Int]>([:])
    /// Customer send → agent receives the committed message.
    let latency = LatencyRecorder()
    /// Customer send → customer receives the gateway's ack.
    let ackLatency = LatencyRecorder()

    func recordError(_ frame: ByteBuffer) {
        errors.add(1, ordering: .relaxed)
        let code = FrameScanner.string("code", in: frame) ?? "unknown"
        errorCodes.withLock { $0[code, default: 0] += 1 }
    }
}

/// A customer: sends timed messages to its open conversation and counts acks and echoes.
final class ChatCustomer: ClientDelegate, @unchecked Sendable {
    let counters: ChatCounters
    let bodyJSON: String
    private(set) var connection: LoadConnection?
    private var sequence = 0
    private var inflight = 0
    private var window = 0
    private var timer: Scheduled<Void>?
    private var nextIntended: UInt64 = 0
    private var interval: UInt64 = 0
    /// Safety valve for fixed-rate mode: never more than this many messages outstanding.
    static let maxInflight = 2_000

    init(eventLoop: any EventLoop, counters: ChatCounters, bodyJSON: String) {
        self.counters = counters
        self.bodyJSON = bodyJSON
        super.init(eventLoop: eventLoop)
    }

    func attach(_ connection: LoadConnection) { eventLoop.execute { self.connection = connection } }

    override func received(_ connection: LoadConnection, frame: ByteBuffer, kind: FrameScanner.Kind) {
        switch kind {
        case .ack:
            guard let sentAt = FrameScanner.sentAt(in: frame) else { return }
            counters.acked.add(1, ordering: .relaxed)
            counters.ackLatency.record(from: sentAt, to: MonotonicClock.now())
        case .message:
            guard FrameScanner.sentAt(in: frame) != nil else {
                counters.openingEchoes.add(1, ordering: .relaxed)
                return
            }
            counters.echoed.add(1, ordering: .relaxed)
            inflight -= 1
            if window > 0 && counters.sending.load(ordering: .relaxed) { send(intended: MonotonicClock.now()) }
        case .error:
            counters.recordError(frame)
        default:
            break
        }
    }

    override func closed(_ connection: LoadConnection, closeCode: UInt16?) {
        counters.disconnects.add(1, ordering: .relaxed)
        timer?.cancel()
    }

    /// The message that opens the customer's conversation, routed to agents with `skill`.
    func sendOpening(skill: String) {
        eventLoop.execute {
            self.connection?.send(#"{"type":"message","id":"open-1","body":"Hello, I need help with my order.","skill":"\#(skill)"}"#)
        }
    }

    /// Closed loop: keeps `window` messages outstanding (a new one for every echo).
    func startMax(window: Int) {
        eventLoop.execute {
            self.window = window
            for _ in 0..<window { self.send(intended: MonotonicClock.now()) }
        }
    }

    /// Open loop: one message every `interval` ns, the first after `phase` ns. Latency is taken
    /// from each message's intended send time, so a stalled sender cannot hide delays; each timer
    /// is set for the next intended time (not a fixed delay after the last tick, which would drift).
    func startRate(interval: UInt64, phase: UInt64) {
        eventLoop.execute {
            self.interval = max(interval, 1)
            self.nextIntended = MonotonicClock.now() + phase
            self.scheduleTick()
        }
    }

    private func scheduleTick() {
        let now = MonotonicClock.now()
        let delay = nextIntended > now ? nextIntended - now : 0
        timer = eventLoop.scheduleTask(in: .nanoseconds(Int64(delay))) { self.tick() }
    }

    private func tick() {
        guard counters.sending.load(ordering: .relaxed) else { return }
        let now = MonotonicClock.now()
        while nextIntended <= now {
            if inflight >= Self.maxInflight {
                counters.skippedSends.add(1, ordering: .relaxed)
            } else {
                send(intended: nextIntended)
            }
            nextIntended += interval
        }
        scheduleTick()
    }

    func stop() {
        eventLoop.execute {
            self.window = 0
            self.timer?.cancel()
            self.timer = nil
        }
    }

    private func send(intended: UInt64) {
        guard let connection else { return }
        sequence += 1
        inflight += 1
        counters.sent.add(1, ordering: .relaxed)
        var buffer = connection.channel.allocator.buffer(capacity: 64 + bodyJSON.utf8.count)
        buffer.writeStaticString(#"{"type":"message","id":""#)
        buffer.writeString(MessageID.make(sentAt: intended, sequence: sequence))
        buffer.writeStaticString(#"","body":""#)
        buffer.writeString(bodyJSON)
        buffer.writeStaticString(#""}"#)
        connection.send(buffer)
    }
}

/// An agent: receives the customers' messages and records their end-to-end latency.
final class ChatAgent: ClientDelegate, @unchecked Sendable {
    let counters: ChatCounters

    init(eventLoop: any EventLoop, counters: ChatCounters) {
        self.counters = counters
        super.init(eventLoop: eventLoop)
    }

    override func received(_ connection: LoadConnection, frame: ByteBuffer, kind: FrameScanner.Kind) {
        switch kind {
        case .message:
            guard let sentAt = FrameScanner.sentAt(in: frame) else { return }
            counters.delivered.add(1, ordering: .relaxed)
            counters.latency.record(from: sentAt, to: MonotonicClock.now())
        case .assigned:
            counters.assignments.add(1, ordering: .relaxed)
        case .error:
            counters.recordError(frame)
        default:
            break
        }
    }

    override func closed(_ connection: LoadConnection, closeCode: UInt16?) {
        counters.disconnects.add(1, ordering: .relaxed)
    }
}
