import CSCore
import CSRedis
import CSServer

/// Thrown by `PartitionWorker.process` for an entry whose fields do not decode as an
/// `InboundEntry` (unknown kind, missing required fields): it goes to the dead letters at once.
struct MalformedInboundEntry: Error, CustomStringConvertible {
    var description: String { "malformed" }
}

/// Inbound entries that cannot be processed leave their partition for `cs:{p<N>}:dead`, so that
/// one poison entry does not block every conversation behind it (docs/operations.md, "Dead letters").
enum DeadLetters {
    /// Redis error codes that say nothing about the entry: the server or the deployment is not
    /// ready (loading, failing over, out of memory, a script running, ACL or functions not loaded). An
    /// entry that meets one is retried with backoff for as long as it takes.
    static let transientServerErrors: Set<String> = [
        "LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS", "MISCONF", "OOM",
        "NOAUTH", "NOPERM", "WRONGPASS", "MOVED", "ASK", "NOSCRIPT", "UNBLOCKED",
        // Our partition lease is stale (`ConversationScripts.fenceCheck`): the worker stops.
        "FENCED",
    ]

    /// Whether Redis refused a conversation write because a later lease owns the partition.
    static func isFenced(_ error: any Error) -> Bool {
        if let failure = error as? AppendBatch.Failure { return isFenced(failure.underlying) }
        return (error as? RedisError)?.redisErrorPrefix == "FENCED"
    }

    /// Whether a failure of `process` is about the entry itself (a Redis error reply such as
    /// `WRONGTYPE` or a script error, a reply of an unexpected shape, an entry or value that does
    /// not decode) and so counts toward `--max-attempts`. Connection loss, timeouts, a Redis
    /// that is restarting and cancellation (shutdown) do not count: they are retried forever.
    static func isEntryFailure(_ error: any Error) -> Bool {
        if error is CancellationError { return false }
        guard let error = error as? RedisError else { return true }
        switch error.code {
        case .serverError:
            // An ACL denial inside a script comes back as a plain `ERR`: the deployment, not the entry.
            if error.message.contains("can't run this command or subcommand") { return false }
            // A function Redis lost (and the library could not be loaded again): the deployment too.
            if error.isMissingFunction { return false }
            guard let prefix = error.redisErrorPrefix else { return true }
            return !transientServerErrors.contains(prefix)
        case .protocolError:
            // Invalid RESP or a reply nobody asked for breaks the connection, not the entry; our own
            // checks of a reply's shape ("unexpected … reply") are about what the entry touched.
            return !(error.message.hasPrefix("invalid RESP") || error.message.hasPrefix("received a reply with no command"))
        case .invalidCommand:
            return true
        default:
            return false
        }
    }

    /// A short description for the dead letter's `error` field and the log: never the message
    /// body (Redis echoes arguments in some errors, e.g. an unknown command).
    static func describe(_ error: any Error, fields: [String: String]?) -> String {
        var text: String
        switch error {
        case let error as MalformedInboundEntry:
            text = error.description
        case let error as RedisError:
            text = error.code == .serverError ? error.message : "\(error.code): \(error.message)"
            if let echo = text.range(of: ", with args beginning with") { text = String(text[..<echo.lowerBound]) }
        default:
            text = String(describing: type(of: error))
        }
        for name in ["b", "cm", "nt"] {
            if let value = fields?[name], value.count >= 3 { text = text.replacingOccurrences(of: value, with: "…") }
        }
        text = text.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
        return text.count > 200 ? String(text.prefix(199)) + "…" : text
    }

    /// The dead letter's field/value pairs: the original fields (in `InboundEntry` order, then
    /// the others sorted), then `id`, `error`, `attempts`, `at` (ms) and `dispatcher`.
    static func fields(
        original: [String: String]?, entryID: String, error: String, attempts: Int, at: Int, dispatcherID: String
    ) -> [(String, String)] {
        let known = ["k", "u", "r", "n", "cid", "c", "b", "s", "g", "cn", "a", "ta", "tk", "nt", "sq", "em", "sc", "cm"]
        let original = original ?? [:]
        let order = known.filter { original[$0] != nil } + original.keys.filter { !known.contains($0) }.sorted()
        var result: [(String, String)] = order.map { name in
            (RedisKeys.deadLetterFields.contains(name) ? "orig." + name : name, original[name] ?? "")
        }
        result += [("id", entryID), ("error", error), ("attempts", String(attempts)), ("at", String(at)), ("dispatcher", dispatcherID)]
        return result
    }

    /// KEYS = inbound stream, dead-letter stream (same `{p<N>}` slot). ARGV = entry id, group,
    /// maxLen, then the dead letter's field/value pairs. Adds the dead letter and acknowledges the
    /// entry in one step, so it is neither lost nor dead-lettered twice by this owner.
    static let moveScript = RedisScript(
        "cs_dead_letter_move",
        """
        redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
        return redis.call('XACK', KEYS[1], ARGV[2], ARGV[1])
        """
    )
}

extension PartitionWorker {
    /// Moves entry `entryID` to the partition's dead letters and acknowledges it.
    func deadLetter(entryID: String, fields: [String: String]?, error: any Error, attempts: Int) async throws {
        let description = DeadLetters.describe(error, fields: fields)
        let pairs = DeadLetters.fields(
            original: fields, entryID: entryID, error: description, attempts: attempts, at: nowMilliseconds(),
            dispatcherID: configuration.dispatcherID)
        var arguments: [RedisArgument] = [.init(entryID), .init(RedisKeys.dispatcherGroup), .init(RedisKeys.deadLetterMaxLength)]
        for (name, value) in pairs { arguments += [.init(name), .init(value)] }
        _ = try await redis.callFunction(
            DeadLetters.moveScript,
            keys: [.init(RedisKeys.inbound(partition: lease.partition)), .init(RedisKeys.deadLetters(partition: lease.partition))],
            arguments: arguments)
        logger.warning(
            "inbound entry moved to the dead letters",
            metadata: [
                "entry": "\(entryID)", "kind": "\(fields?["k"] ?? "")", "user": "\(fields?["u"] ?? "")",
                "conversation": "\(fields?["c"] ?? "")", "attempts": "\(attempts)", "error": "\(description)",
                "deadLetters": "\(RedisKeys.deadLetters(partition: lease.partition))",
            ])
        // The sender got an `ack`; tell its connection (if it is still there) that the action
        // was not carried out, rather than leave it waiting.
        if let fields, let entry = InboundEntry(fields: fields) {
            try? await reply(ChatError(.internal, "this action could not be processed; an operator was alerted"), to: entry)
        }
    }
}
