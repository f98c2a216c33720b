import CSCore
import CSRedis
import CSServer
import Logging
import PostgresNIO
import ServiceLifecycle

/// Consumes `cs:{archive}:closed` in the `archivers` group: for each entry, copies the
/// conversation from Redis to PostgreSQL in one transaction, then sets the expiry of its Redis
/// keys (`RetentionPolicy`), then acknowledges. A crash anywhere before the XACK leaves the entry
/// pending; it is archived again (idempotent) by this archiver at restart or by another one
/// after `claimIdleMilliseconds` (`XAUTOCLAIM`), so nothing is lost and nothing is doubled.
struct ArchiverService: Service {
    let configuration: ArchiverConfiguration
    let redis: RedisClient
    let postgres: PostgresClient
    let logger: Logger

    /// How long one PostgreSQL step (a conversation's transaction, a migration check) may take,
    /// waiting for a connection included: while PostgreSQL is down the pool keeps trying, and
    /// the round is retried after this (`--transaction-timeout-ms`).
    var transactionLimit: Duration { .milliseconds(configuration.transactionTimeoutMilliseconds) }

    func run() async throws {
        var readerConfiguration = configuration.redis
        readerConfiguration.clientName = configuration.archiverID + "-read"
        readerConfiguration.commandTimeout = .milliseconds(configuration.blockMilliseconds) + configuration.redis.commandTimeout
        let reader = RedisClient(configuration: readerConfiguration, logger: logger)
        let stream = RedisKeys.finishedConversations
        let group = RedisKeys.archiverGroup
        var schemaReady = false
        var pendingFirst = true
        var groupReady = false
        var lastClaim = ContinuousClock.now
        var backoff = Duration.milliseconds(100)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                if !schemaReady {
                    try await prepareSchema()
                    schemaReady = true
                }
                if !groupReady {
                    do {
                        _ = try await reader.send("XGROUP", "CREATE", .init(stream), .init(group), "0", "MKSTREAM")
                    } catch let error as RedisError where error.redisErrorPrefix == "BUSYGROUP" {}
                    groupReady = true
                }
                if pendingFirst || ContinuousClock.now - lastClaim > .milliseconds(configuration.claimIdleMilliseconds) {
                    if try await claimAbandoned(reader) > 0 { pendingFirst = true }
                    lastClaim = .now
                }
                var command: [RedisArgument] = [
                    "XREADGROUP", "GROUP", .init(group), .init(configuration.archiverID), "COUNT", .init(configuration.batchSize),
                ]
                if !pendingFirst { command += ["BLOCK", .init(configuration.blockMilliseconds)] }
                command += ["STREAMS", .init(stream), pendingFirst ? "0" : ">"]
                let entries = try await reader.send(command).array?.first?.array?.last?.array ?? []
                if entries.isEmpty {
                    pendingFirst = false
                    continue
                }
                for entry in entries {
                    guard let parts = entry.array, let id = parts.first?.string else { continue }
                    // A pending entry deleted meanwhile comes back without fields: nothing to do.
                    let fields = parts.count > 1 ? parts[1].fieldMap : [:]
                    try await archive(entryID: id, fields: fields, deleted: parts.count < 2 || parts[1].array == nil)
                }
                try await trim()
                backoff = .milliseconds(100)
            } catch {
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
                logger.warning("archiver round failed; retrying", metadata: ["error": "\(error)"])
                pendingFirst = true
                groupReady = false
                try? await cancelWhenGracefulShutdown { [backoff] in try await Task.sleep(for: backoff) }
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        await reader.close()
    }

    /// Applies missing migrations (or, with `migrate` off, checks that none is missing).
    private func prepareSchema() async throws {
        let migrator = Migrator(client: postgres, logger: logger)
        if configuration.migrate {
            let applied = try await withTimeLimit(transactionLimit) { try await migrator.migrate() }
            if !applied.isEmpty { logger.notice("archive schema up to date", metadata: ["applied": "\(applied)"]) }
        } else {
            let known = try await withTimeLimit(transactionLimit) { try await migrator.appliedVersions() }
            let missing = Migration.all.map(\.version).filter { !known.contains($0) }
            guard missing.isEmpty else {
                throw SchemaNotReady(missing: missing)
            }
        }
    }

    /// Archives one entry's conversation and acknowledges the entry; or moves the entry to the
    /// dead letters when it can never be archived. Throws for transient failures (not acked).
    private func archive(entryID: String, fields: [String: String], deleted: Bool) async throws {
        if deleted {
            try await acknowledge(entryID)
            return
        }
        guard let conversationID = fields["c"], let kind = fields["k"], ["closed", "rated"].contains(kind),
              Identifier.isValid(conversationID, maxLength: 128), Identifier.customerID(ofConversation: conversationID) != nil
        else {
            try await deadLetter(entryID: entryID, fields: fields, error: "malformed")
            return
        }
        do {
            guard let snapshot = try await ConversationReader(redis: redis).read(conversationID) else {
                // Expired after an earlier archive (a late replay): done. Otherwise it never existed.
                let writer = ArchiveWriter(client: postgres, logger: logger)
                if try await withTimeLimit(transactionLimit, { try await writer.isArchived(conversationID) }) {
                    try await acknowledge(entryID)
                } else {
                    try await deadLetter(entryID: entryID, fields: fields, error: "unknown_conversation")
                }
                return
            }
            if let refusal = snapshot.refusal {
                try await deadLetter(entryID: entryID, fields: fields, error: refusal)
                return
            }
            let writer = ArchiveWriter(client: postgres, logger: logger)
            let inserted = try await withTimeLimit(transactionLimit) { try await writer.write(snapshot) }
            // Only now, with the rows committed, may Redis forget the conversation.
            if let state = snapshot.state, let expiresAt = configuration.retention.expiresAt(state) {
                try await redis.pipeline(RetentionPolicy.keys(of: conversationID).map { ["PEXPIREAT", .init($0), .init(expiresAt)] }).checked()
            }
            try await acknowledge(entryID)
            configuration.stats.messageIn()
            logger.info(
                "conversation archived",
                metadata: ["conversation": "\(conversationID)", "kind": "\(kind)", "entries": "\(snapshot.entries.count)", "new": "\(inserted)"])
        } catch {
            guard let reason = ArchiveFailure.entryReason(error) else { throw error }
            try await deadLetter(entryID: entryID, fields: fields, error: reason)
        }
    }

    private func acknowledge(_ entryID: String) async throws {
        _ = try await redis.send("XACK", .init(RedisKeys.finishedConversations), .init(RedisKeys.archiverGroup), .init(entryID))
    }

    /// Moves the entry to `cs:{archive}:dead` and acknowledges it, in one MULTI (same slot).
    private func deadLetter(entryID: String, fields: [String: String], error: String) async throws {
        var xadd: [RedisArgument] = ["XADD", .init(RedisKeys.archiveDeadLetters), "MAXLEN", "~", .init(RedisKeys.deadLetterMaxLength), "*"]
        let reserved = ["id", "error", "at", "archiver"]
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            xadd += [.init(reserved.contains(name) ? "orig." + name : name), .init(String(value.prefix(200)))]
        }
        xadd += ["id", .init(entryID), "error", .init(error), "at", .init(nowMilliseconds()), "archiver", .init(configuration.archiverID)]
        let replies = try await redis.pipeline([
            ["MULTI"], xadd,
            ["XACK", .init(RedisKeys.finishedConversations), .init(RedisKeys.archiverGroup), .init(entryID)],
            ["EXEC"],
        ]).checked()
        if let failed = replies.last?.array?.firstRedisError { throw failed }
        logger.warning(
            "finished-conversation entry moved to the dead letters",
            metadata: ["entry": "\(entryID)", "conversation": "\(fields["c"] ?? "")", "error": "\(error)",
                       "deadLetters": "\(RedisKeys.archiveDeadLetters)"])
    }

    /// Takes over entries idle longer than the claim time (their archiver died mid-work).
    private func claimAbandoned(_ reader: RedisClient) async throws -> Int {
        var cursor = "0-0"
        var claimed = 0
        repeat {
            let reply = try await reader.send(
                "XAUTOCLAIM", .init(RedisKeys.finishedConversations), .init(RedisKeys.archiverGroup), .init(configuration.archiverID),
                .init(configuration.claimIdleMilliseconds), .init(cursor), "COUNT", "1000", "JUSTID")
            cursor = reply.array?.first?.string ?? "0-0"
            claimed += (reply.array?.count ?? 0) > 1 ? reply.array?[1].array?.count ?? 0 : 0
        } while cursor != "0-0"
        if claimed > 0 { logger.notice("took over archive work left by another archiver", metadata: ["entries": "\(claimed)"]) }
        return claimed
    }

    /// Trims what every archiver read and acknowledged (as the notifier does): below the oldest
    /// pending entry, or below the group's last-delivered id when nothing is pending.
    private func trim() async throws {
        let stream = RedisKeys.finishedConversations
        let summary = try await redis.send("XPENDING", .init(stream), .init(RedisKeys.archiverGroup)).array ?? []
        var floor: String?
        if summary.count > 1, let oldest = summary[1].string {
            floor = oldest
        } else {
            let groups = try await redis.send("XINFO", "GROUPS", .init(stream)).array ?? []
            for group in groups where group.fieldMap["name"] == RedisKeys.archiverGroup {
                floor = group.fieldMap["last-delivered-id"]
            }
        }
        if let floor { _ = try await redis.send("XTRIM", .init(stream), "MINID", "~", .init(floor)) }
    }
}

/// `--migrate false` and the database lacks migrations: `cs-admin db migrate` must run first.
struct SchemaNotReady: Error, CustomStringConvertible {
    let missing: [Int]
    var description: String { "the archive schema lacks migrations \(missing): run cs-admin db migrate" }
}
