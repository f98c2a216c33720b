import NIOCore

/// What `RedisClient` writes into a connection's pipeline: one command or a batch, with the
/// promise that receives the reply (replies). Encoded by ``RedisCommandHandler``.
enum RedisRequest: Sendable {
    /// One command; the promise receives its reply (an error reply arrives as `.error`, not as a failure).
    case command([RedisArgument], EventLoopPromise<RESPValue>)
    /// Several commands written together; the promise receives one reply per command, in order.
    case pipeline([[RedisArgument]], EventLoopPromise<[RESPValue]>)

    func fail(_ error: any Error) {
        switch self {
        case .command(_, let promise): promise.fail(error)
        case .pipeline(_, let promise): promise.fail(error)
        }
    }

    /// An upper bound of the encoded size of the request.
    var maximumEncodedSize: Int {
        switch self {
        case .command(let arguments, _):
            return RedisCommandEncoder.maximumSize(of: arguments)
        case .pipeline(let commands, _):
            return commands.reduce(0) { $0 + RedisCommandEncoder.maximumSize(of: $1) }
        }
    }

    func encode(into buffer: inout ByteBuffer) throws {
        switch self {
        case .command(let arguments, _):
            try RedisCommandEncoder.encode(arguments, into: &buffer)
        case .pipeline(let commands, _):
            for arguments in commands { try RedisCommandEncoder.encode(arguments, into: &buffer) }
        }
    }
}

/// A request written to Redis whose reply (replies) have not all arrived yet.
struct PendingRedisRequest {
    let request: RedisRequest
    let deadline: NIODeadline
    private var replies: [RESPValue] = []

    init(_ request: RedisRequest, deadline: NIODeadline) {
        self.request = request
        self.deadline = deadline
        if case .pipeline(let commands, _) = request { self.replies.reserveCapacity(commands.count) }
    }

    /// Records one reply; returns `true` once the request is complete (and its promise fulfilled).
    mutating func receive(_ reply: RESPValue) -> Bool {
        switch self.request {
        case .command(_, let promise):
            promise.succeed(reply)
            return true
        case .pipeline(let commands, let promise):
            self.replies.append(reply)
            guard self.replies.count == commands.count else { return false }
            promise.succeed(self.replies)
            return true
        }
    }
}
