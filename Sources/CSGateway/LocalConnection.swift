import CSCore
import NIOCore
import Synchronization

/// One WebSocket connection held by this gateway.
///
/// It remembers the highest `seq` it delivered per conversation, so that no committed entry is
/// written twice (a replay racing a live delivery, a re-published entry), and holds live entries
/// of a conversation back while that conversation is being replayed (`resume`).
///
/// Frames wait in an outbox, already encoded (`TextFrame`); the first frame into an empty outbox
/// schedules one flush on the output's thread (the channel's event loop), which writes everything
/// queued by then with one flush. More than `maxQueuedBytes` waiting (in the outbox, or written
/// but not yet taken by the kernel) ends the connection as a slow consumer.
public final class LocalConnection: Sendable {
    public enum EndReason: Sendable, Equatable {
        case slowConsumer
        case shutdown
        /// The client broke a rule; the session closes with this code.
        case violation(ChatCloseCode)
    }

    struct State {
        var endReason: EndReason?
        var delivered: [String: Int] = [:]
        var held: [String: [ByteBuffer]] = [:]
        var lastTyping: [String: ContinuousClock.Instant] = [:]
        var notifications: Set<String> = []
        var holdingAll = false
        var outbox: [ByteBuffer] = []
        var outboxBytes = 0
        var flushScheduled = false
    }

    public let id: String
    public let participant: Participant
    /// The agent's skills (empty for customers), for skill-audience broadcasts.
    public let skills: [String]
    let output: any ConnectionOutput
    /// `output.thread`, kept: a broadcast groups thousands of connections by it.
    let thread: ObjectIdentifier
    let maxQueuedBytes: Int
    let state = Mutex(State())

    /// How long a slow consumer gets to take its close frame before the socket is cut.
    static let slowConsumerGrace = TimeAmount.seconds(2)

    init(id: String, participant: Participant, skills: [String], output: any ConnectionOutput, maxQueuedBytes: Int) {
        self.id = id
        self.participant = participant
        self.skills = skills
        self.output = output
        self.thread = output.thread
        self.maxQueuedBytes = maxQueuedBytes
    }

    var reasonForEnd: EndReason? { state.withLock { $0.endReason } }

    /// Queues a frame for writing (committed entries once each, unless held back).
    func send(_ frame: ByteBuffer) {
        let header = frame.withUnsafeReadableBytes { CommittedFrameHeader.parse($0) }
        enqueue { state in Self.deliver(frame, header, into: &state) }
    }

    /// Queues a committed frame unless it is held back (replay or recovery under way) or was
    /// delivered already. Runs under the lock, so the check and the queue order stay together.
    private static func deliver(_ frame: ByteBuffer, _ header: CommittedFrameHeader?, into state: inout State) {
        if let header {
            if state.holdingAll || state.held[header.conversationID] != nil {
                state.held[header.conversationID, default: []].append(frame)
                return
            }
            guard header.seq > state.delivered[header.conversationID, default: 0] else { return }
            state.delivered[header.conversationID] = header.seq
        }
        let encoded = TextFrame.encode(frame)
        state.outbox.append(encoded)
        state.outboxBytes += encoded.readableBytes
    }

    /// Starts holding live entries of `conversationID` back while it is replayed.
    func beginReplay(_ conversationID: String) {
        state.withLock { if $0.held[conversationID] == nil { $0.held[conversationID] = [] } }
    }

    /// Queues one replayed entry (live ones of the conversation are held meanwhile). With
    /// `belowMark`, entries under the highest seq delivered are written too (an explicit `resume`
    /// may fill a gap under it; clients ignore a seq they already show).
    func sendReplayed(_ frame: ByteBuffer, conversationID: String, seq: Int, belowMark: Bool = false) {
        enqueue { state in
            let mark = state.delivered[conversationID, default: 0]
            guard seq > mark || belowMark else { return }
            state.delivered[conversationID] = max(mark, seq)
            let encoded = TextFrame.encode(frame)
            state.outbox.append(encoded)
            state.outboxBytes += encoded.readableBytes
        }
    }

    /// Ends the replay: the held live entries follow, without the ones already replayed.
    /// Returns the highest seq delivered for the conversation.
    @discardableResult
    func endReplay(_ conversationID: String) -> Int {
        var mark = 0
        enqueue { state in
            let held = state.holdingAll ? [] : (state.held.removeValue(forKey: conversationID) ?? [])
            for frame in held { Self.deliver(frame, frame.withUnsafeReadableBytes { CommittedFrameHeader.parse($0) }, into: &state) }
            mark = state.delivered[conversationID, default: 0]
        }
        return mark
    }

    /// Holds every live committed entry back (pub/sub is down: some are being lost).
    func beginRecovery() { state.withLock { $0.holdingAll = true } }

    /// The conversations this connection follows, with the highest seq delivered of each.
    var deliveredPositions: [String: Int] { state.withLock { $0.delivered } }

    /// Recovery done: everything held follows, without what the replay delivered.
    func endRecovery() {
        enqueue { state in
            state.holdingAll = false
            let held = state.held
            state.held = [:]
            for frames in held.values {
                for frame in frames { Self.deliver(frame, frame.withUnsafeReadableBytes { CommittedFrameHeader.parse($0) }, into: &state) }
            }
        }
    }

    /// Queues a notification unless this connection already got it; returns whether it did now.
    @discardableResult
    func sendNotification(_ frame: ByteBuffer, id: String) -> Bool {
        let fresh = markNotification(id)
        if fresh { send(frame) }
        return fresh
    }

    /// Notes that this connection gets notification `id` now; false when it already had it.
    func markNotification(_ id: String) -> Bool {
        state.withLock { state -> Bool in
            if state.notifications.count > 500 { state.notifications.removeAll() }
            return state.notifications.insert(id).inserted
        }
    }

    /// What `sendBroadcast` did with a broadcast's frame.
    enum BroadcastOutcome {
        /// The connection had this notification already, or is ending.
        case skipped
        /// Written to the channel now (`ConnectionOutput.write(broadcast:)`).
        case written
        /// Queued behind frames waiting for their flush, which writes it.
        case queued
    }

    /// On the output's thread, for a broadcast: takes notification `id` and writes its frame,
    /// already encoded (`TextFrame.encode`), at once, unless earlier frames wait for their flush
    /// (then it goes out after them). One lock for both steps: a broadcast runs this for
    /// thousands of connections in a row.
    func sendBroadcast(encoded frame: ByteBuffer, id: String) -> BroadcastOutcome {
        let (outcome, overflow) = state.withLock { state -> (BroadcastOutcome, Bool) in
            guard state.endReason == nil else { return (.skipped, false) }
            if state.notifications.count > 500 { state.notifications.removeAll() }
            guard state.notifications.insert(id).inserted else { return (.skipped, false) }
            // Frames in the outbox always have a flush scheduled (see `enqueue`).
            guard state.outbox.isEmpty, !state.flushScheduled else {
                state.outbox.append(frame)
                state.outboxBytes += frame.readableBytes
                return (.queued, state.outboxBytes > maxQueuedBytes)
            }
            return (.written, false)
        }
        if overflow || (outcome == .written && output.write(broadcast: frame) > maxQueuedBytes) { end(.slowConsumer) }
        return outcome
    }

    /// Whether a `typing` for the conversation may be forwarded now (at most one per second).
    func allowTyping(_ conversationID: String) -> Bool {
        let now = ContinuousClock.now
        return state.withLock { state in
            if let last = state.lastTyping[conversationID], now - last < .seconds(1) { return false }
            if state.lastTyping.count > 100 { state.lastTyping.removeAll() }
            state.lastTyping[conversationID] = now
            return true
        }
    }
}
