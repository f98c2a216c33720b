import NIOCore

/// Base of every scenario's connection delegate: notices the gateway's `hello` (the connection is
/// then authenticated and subscribed) and how the connection ended.
///
/// Subclasses override ``received(_:frame:kind:)`` and ``closed(_:closeCode:)``. All state is
/// confined to ``eventLoop``; the `@unchecked Sendable` conformance rests on that.
class ClientDelegate: LoadConnectionDelegate, @unchecked Sendable {
    /// Why a connection was not ready.
    struct NotReady: Error, CustomStringConvertible {
        var kind: String
        var description: String { kind }
    }

    let eventLoop: any EventLoop
    /// Succeeds with the time `hello` arrived (monotonic ns).
    let hello: EventLoopPromise<UInt64>
    private(set) var helloSeen = false
    private var refusal: String?

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        hello = eventLoop.makePromise(of: UInt64.self)
    }

    final func connection(_ connection: LoadConnection, receivedText frame: ByteBuffer) {
        let kind = FrameScanner.kind(of: frame)
        if !helloSeen {
            switch kind {
            case .hello:
                helloSeen = true
                hello.succeed(MonotonicClock.now())
                return
            case .error:
                refusal = FrameScanner.string("code", in: frame) ?? "error"
            default:
                break
            }
        }
        received(connection, frame: frame, kind: kind)
    }

    final func connectionClosed(_ connection: LoadConnection, closeCode: UInt16?) {
        if !helloSeen {
            hello.fail(NotReady(kind: refusal ?? closeCode.map { "closed_\($0)" } ?? "closed_before_hello"))
        }
        closed(connection, closeCode: closeCode)
    }

    /// A frame after `hello` (or a non-hello frame before it). Override.
    func received(_ connection: LoadConnection, frame: ByteBuffer, kind: FrameScanner.Kind) {}

    /// The connection ended. Override.
    func closed(_ connection: LoadConnection, closeCode: UInt16?) {}
}
