import CSCore
import NIOCore
import Synchronization
import Testing

@testable import CSGateway

/// `LocalConnection`'s outbox without a socket: what is written, in which flush, and how a
/// connection ends. The recorder runs scheduled bodies only when the test says so, the way an
/// event loop runs them later.
@Suite("Local connection outbox")
struct LocalConnectionTests {
    final class RecordingOutput: ConnectionOutput {
        struct Record {
            var scheduled: [@Sendable () -> Void] = []
            var flushes: [[String]] = []
            var closes: [(code: ChatCloseCode, cutAfter: TimeAmount?)] = []
            /// What `write` answers: bytes still waiting for the kernel.
            var buffered = 0
        }

        let record = Mutex(Record())

        var thread: ObjectIdentifier { ObjectIdentifier(self) }

        func schedule(_ body: @escaping @Sendable () -> Void) { record.withLock { $0.scheduled.append(body) } }

        func write(_ frames: [ByteBuffer]) -> Int {
            record.withLock { record in
                record.flushes.append(frames.map { String(buffer: TextFrame.payload(of: $0)) })
                return record.buffered
            }
        }

        func write(broadcast frame: ByteBuffer) -> Int { write([frame]) }

        func countWritten(_ frames: Int) {}

        func close(code: ChatCloseCode, reason: String, cutAfter: TimeAmount?) {
            record.withLock { $0.closes.append((code, cutAfter)) }
        }

        /// Runs what was scheduled so far (and what that schedules), in order.
        func runScheduled() {
            while let body = record.withLock({ $0.scheduled.isEmpty ? nil : $0.scheduled.removeFirst() }) { body() }
        }

        var pending: Int { record.withLock { $0.scheduled.count } }
        var flushes: [[String]] { record.withLock { $0.flushes } }
        var closeCodes: [ChatCloseCode] { record.withLock { $0.closes.map(\.code) } }
    }

    static func connection(maxQueuedBytes: Int = 1 << 20) -> (LocalConnection, RecordingOutput) {
        let output = RecordingOutput()
        let participant = Participant(id: "v_ann", role: .customer, name: "Ann")
        return (LocalConnection(id: "gw.1", participant: participant, skills: [], output: output, maxQueuedBytes: maxQueuedBytes), output)
    }

    static func committed(_ conversation: String, _ seq: Int) -> ByteBuffer {
        ByteBuffer(string: #"{"type":"message","conversationId":"\#(conversation)","seq":\#(seq),"body":"m\#(seq)"}"#)
    }

    @Test func framesQueuedBeforeTheFlushGoOutTogetherInOrder() {
        let (connection, output) = Self.connection()
        connection.send(ByteBuffer(string: "a"))
        connection.send(ByteBuffer(string: "b"))
        connection.send(ByteBuffer(string: "c"))
        #expect(output.pending == 1, "one flush scheduled for three frames")
        output.runScheduled()
        connection.send(ByteBuffer(string: "d"))
        output.runScheduled()
        #expect(output.flushes == [["a", "b", "c"], ["d"]])
    }

    @Test func aBroadcastOnTheOutputThreadIsWrittenAtOnceButNeverBeforeQueuedFrames() {
        let (connection, output) = Self.connection()
        #expect(connection.sendBroadcast(encoded: TextFrame.encode(ByteBuffer(string: "n1")), id: "n1") == .written)
        #expect(output.pending == 0 && output.flushes == [["n1"]], "nothing waiting: written at once, no job scheduled")
        connection.send(ByteBuffer(string: "a"))
        #expect(connection.sendBroadcast(encoded: TextFrame.encode(ByteBuffer(string: "n2")), id: "n2") == .queued)
        #expect(output.flushes == [["n1"]], "a flush is pending: the broadcast waits behind its frames")
        output.runScheduled()
        #expect(output.flushes == [["n1"], ["a", "n2"]])
        #expect(connection.sendBroadcast(encoded: TextFrame.encode(ByteBuffer(string: "n1")), id: "n1") == .skipped, "a notification id is taken once")
        #expect(connection.markNotification("x") && !connection.markNotification("x"), "a notification id is taken once")
        connection.end(.shutdown)
        #expect(connection.sendBroadcast(encoded: TextFrame.encode(ByteBuffer(string: "n3")), id: "n3") == .skipped, "an ending connection gets no more broadcasts")
        output.runScheduled()
        #expect(output.flushes == [["n1"], ["a", "n2"]])
    }

    @Test func aBroadcastOverTheQueueLimitEndsASlowConsumer() {
        let (connection, output) = Self.connection(maxQueuedBytes: 64)
        connection.send(ByteBuffer(string: "a"))
        let big = TextFrame.encode(ByteBuffer(repeating: UInt8(ascii: "x"), count: 100))
        #expect(connection.sendBroadcast(encoded: big, id: "big") == .queued)
        #expect(connection.reasonForEnd == .slowConsumer)
        output.runScheduled()
        #expect(output.flushes.isEmpty && output.closeCodes == [.slowConsumer], "the backlog is dropped, only the close goes out")
    }

    @Test func aCommittedEntryIsWrittenOnceAndHeldDuringItsReplay() {
        let (connection, output) = Self.connection()
        connection.send(Self.committed("c1", 1))
        connection.send(Self.committed("c1", 1))
        connection.beginReplay("c1")
        connection.send(Self.committed("c1", 3))
        connection.sendReplayed(Self.committed("c1", 2), conversationID: "c1", seq: 2)
        connection.sendReplayed(Self.committed("c1", 3), conversationID: "c1", seq: 3)
        #expect(connection.endReplay("c1") == 3)
        output.runScheduled()
        let seqs = output.flushes.flatMap { $0 }.map { CommittedFrameHeader.parse(Array($0.utf8))?.seq }
        #expect(seqs == [1, 2, 3], "live seq 3 held during the replay, then dropped as already delivered")
    }

    @Test func anOverfullOutboxEndsASlowConsumerWithoutItsBacklog() {
        let (connection, output) = Self.connection(maxQueuedBytes: 10)
        connection.send(ByteBuffer(string: "12345"))
        connection.send(ByteBuffer(string: "67890"))
        connection.send(ByteBuffer(string: "x"))
        #expect(connection.reasonForEnd == .slowConsumer)
        connection.send(ByteBuffer(string: "after"))
        output.runScheduled()
        #expect(output.flushes.isEmpty, "a slow consumer gets only its close")
        #expect(output.closeCodes == [.slowConsumer])
        #expect(output.record.withLock { $0.closes.first?.cutAfter } == LocalConnection.slowConsumerGrace)
    }

    @Test func bytesTheKernelDidNotTakeCountTowardsTheLimit() {
        let (connection, output) = Self.connection(maxQueuedBytes: 100)
        output.record.withLock { $0.buffered = 101 }
        connection.send(ByteBuffer(string: "a"))
        output.runScheduled()
        #expect(output.flushes == [["a"]])
        #expect(connection.reasonForEnd == .slowConsumer)
        #expect(output.closeCodes == [.slowConsumer])
    }

    @Test func shutdownWritesWhatIsQueuedThenClosesWith1001() {
        let (connection, output) = Self.connection()
        connection.send(ByteBuffer(string: "a"))
        connection.end(.shutdown)
        connection.send(ByteBuffer(string: "late"))
        connection.end(.slowConsumer)
        output.runScheduled()
        #expect(output.flushes == [["a"]])
        #expect(output.closeCodes == [.goingAway], "ended once: the later slow-consumer end does nothing")
    }

    @Test func aViolationClosesWithItsCodeAfterWhatIsQueued() {
        let (connection, output) = Self.connection()
        connection.send(ByteBuffer(string: "error frame"))
        connection.end(.violation(.rateLimited))
        connection.send(ByteBuffer(string: "late"))
        output.runScheduled()
        #expect(output.flushes == [["error frame"]], "the frame queued before the violation still goes out, nothing after it")
        #expect(output.closeCodes == [.rateLimited])
        #expect(connection.reasonForEnd == .violation(.rateLimited))
    }

    @Test func recoveryHoldsEveryConversationThenReleasesWhatWasNotDelivered() {
        let (connection, output) = Self.connection()
        connection.send(Self.committed("c1", 1))
        connection.beginRecovery()
        connection.send(Self.committed("c1", 2))
        connection.send(Self.committed("c2", 1))
        output.runScheduled()
        #expect(output.flushes.flatMap { $0 }.count == 1)
        connection.sendReplayed(Self.committed("c1", 2), conversationID: "c1", seq: 2)
        connection.endRecovery()
        output.runScheduled()
        let delivered = output.flushes.flatMap { $0 }.compactMap { CommittedFrameHeader.parse(Array($0.utf8)) }
        #expect(delivered.filter { $0.conversationID == "c1" }.map(\.seq) == [1, 2])
        #expect(delivered.filter { $0.conversationID == "c2" }.map(\.seq) == [1])
    }
}
