import CSCore
import CSTestSupport
import Foundation
import Testing

extension EndToEnd {
    /// Redis runs with the deployment's ACL users (deploy/redis/users.acl.template, rendered by
    /// render-acl.sh with random passwords: the processes refuse the example ones). Each role is confined to its keys, channels and commands, and a
    /// gateway, a dispatcher, a notifier and cs-admin, each as its own user, carry a chat and a
    /// notification, and a rating; after a Redis restart (AOF) the conversation is still there.
    @Test("Redis ACL users confine each role, and the system works under them")
    func aclUsers() async throws {
        let users = try ACLUsers.deployment()
        defer { users.removeCopy() }
        let redis = try await RedisServer(appendOnly: true, extraArguments: users.redisArguments)
        do {
            try await Self.checkConfinement(users, port: redis.port)
            // From here on, Redis must refuse nothing (ACL LOG also records refusals inside
            // scripts and pipelines, which the processes may not log).
            try await users.resetACLLog(port: redis.port)
            try await Self.chatUnderACL(users, redis: redis)
            let refusals = try await users.aclLog(port: redis.port)
            #expect(refusals.isEmpty, "Redis refused commands of the processes (ACL LOG): \(refusals)")
        } catch {
            try? await redis.stop()
            throw error
        }
        try await redis.stop()
    }

    static func checkConfinement(_ users: ACLUsers, port: Int) async throws {
        func refused(_ role: ACLUsers.Role?, _ command: [String], _ code: String = "NOPERM", sourceLocation: SourceLocation = #_sourceLocation) async throws {
            let reply = try await users.errorReply(as: role, port: port, command)
            #expect(reply?.hasPrefix(code) == true, "\(role?.rawValue ?? "no user") \(command): expected \(code), got \(reply ?? "success")", sourceLocation: sourceLocation)
        }
        func allowed(_ role: ACLUsers.Role, _ command: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws {
            let reply = try await users.errorReply(as: role, port: port, command)
            #expect(reply == nil, "\(role.rawValue) \(command): \(reply ?? "")", sourceLocation: sourceLocation)
        }
        // Without a user nothing works (the default user is disabled).
        try await refused(nil, ["PING"], "NOAUTH")
        try await refused(nil, ["GET", "cs:{ops}:partitions"], "NOAUTH")

        // The gateway: no administration, no keys outside its patterns, read-only where it only reads.
        try await refused(.gateway, ["FLUSHALL"])
        try await refused(.gateway, ["FLUSHDB"])
        try await refused(.gateway, ["CONFIG", "GET", "maxmemory"])
        try await refused(.gateway, ["KEYS", "*"])
        try await refused(.gateway, ["SHUTDOWN", "NOSAVE"])
        try await refused(.gateway, ["GET", "other:key"])
        try await refused(.gateway, ["SET", "cs:{p0}:lease", "gw"])
        try await refused(.gateway, ["SADD", RedisKeys.agentConversations("mallory"), "v_aclcheck0000.abcdefgh"])
        try await refused(.gateway, ["HINCRBY", "cs:{ratings}:all", "count", "1"])
        try await refused(.gateway, ["HSET", RedisKeys.conversation("v_aclcheck0000.abcdefgh"), "agent", "mallory"])
        try await refused(.gateway, ["PUBLISH", "other-channel", "x"])
        try await allowed(.gateway, ["PING"])
        try await allowed(.gateway, ["SET", RedisKeys.visitorSeen("v_aclcheck0000"), "1", "EX", "60"])
        try await allowed(.gateway, ["HGETALL", RedisKeys.agent("nobody")])
        try await allowed(.gateway, ["HGETALL", RedisKeys.conversation("v_aclcheck0000.abcdefgh")])
        try await allowed(.gateway, ["LPUSH", RedisKeys.drainWakeup, "1"])
        try await allowed(.gateway, ["PUBLISH", RedisKeys.userChannel("nobody"), "x"])

        // The other roles.
        try await refused(.dispatcher, ["FLUSHDB"])
        try await refused(.dispatcher, ["HSET", RedisKeys.agent("mallory"), "pw", "x"])
        try await refused(.dispatcher, ["XADD", RedisKeys.notifyStream, "*", "k", "create"])
        try await allowed(.dispatcher, ["GET", RedisKeys.lease(partition: 0)])
        try await refused(.notifier, ["HGETALL", RedisKeys.agent("nobody")])
        try await refused(.notifier, ["XADD", RedisKeys.inbound(partition: 0), "*", "k", "msg"])
        try await allowed(.notifier, ["ZCARD", "cs:{notify}:scheduled"])
        try await refused(.webhooks, ["FLUSHALL"])
        try await refused(.webhooks, ["GET", RedisKeys.lease(partition: 0)])
        try await refused(.webhooks, ["HGETALL", RedisKeys.conversation("v_aclcheck0000.abcdefgh")])
        try await refused(.webhooks, ["FCALL", "cs_conversation_append", "0"])
        try await allowed(.webhooks, ["XLEN", RedisKeys.webhookEvents])
        try await refused(.dispatcher, ["HSET", RedisKeys.webhookEndpoints, "wh_mallory00000", "{}"])
        try await refused(.admin, ["FLUSHALL"])
        try await refused(.admin, ["CONFIG", "SET", "appendonly", "no"])
        try await refused(.admin, ["XADD", RedisKeys.inbound(partition: 0), "*", "k", "msg"])
        try await allowed(.admin, ["XLEN", RedisKeys.inbound(partition: 0)])
        // The archiver reads conversations and may only set their expiry, never change them.
        let archived = "v_aclcheck0000.abcdefgh"
        try await refused(.archiver, ["HSET", RedisKeys.conversation(archived), "agent", "mallory"])
        try await refused(.archiver, ["DEL", RedisKeys.conversationLog(archived)])
        try await refused(.archiver, ["XADD", RedisKeys.inbound(partition: 0), "*", "k", "msg"])
        try await refused(.archiver, ["HSET", RedisKeys.rating(archived), "score", "1"])
        try await refused(.archiver, ["FLUSHDB"])
        try await allowed(.archiver, ["HGETALL", RedisKeys.conversation(archived)])
        try await allowed(.archiver, ["PEXPIREAT", RedisKeys.conversation(archived), "1"])
        try await allowed(.archiver, ["HGETALL", RedisKeys.rating(archived)])
        try await refused(.archiver, ["HSET", RedisKeys.conversationDedup(archived), "x", "1"])
        try await allowed(.archiver, ["PEXPIREAT", RedisKeys.conversationDedup(archived), "1"])
        try await allowed(.archiver, ["XRANGE", RedisKeys.conversationLog(archived), "-", "+"])

        // No role runs Lua of its own (issue 21, item 10): no EVAL, no SCRIPT LOAD, no FUNCTION
        // LOAD but the admin's; each role calls its own functions only; the gateway may append
        // to the inbound streams and do nothing else to them.
        for role in [ACLUsers.Role.gateway, .dispatcher, .notifier, .webhooks, .archiver, .admin] {
            try await refused(role, ["EVAL", "return 1", "0"])
            try await refused(role, ["SCRIPT", "LOAD", "return 1"])
            try await refused(role, ["FUNCTION", "FLUSH"])
        }
        for role in [ACLUsers.Role.gateway, .dispatcher, .notifier, .webhooks, .archiver] {
            try await refused(role, ["FUNCTION", "LOAD", "#!lua name=mallory\nredis.register_function('m', function() return 1 end)"])
        }
        try await refused(.gateway, ["FCALL", "cs_conversation_append", "0"])
        try await refused(.gateway, ["FCALL", "cs_lease_acquire", "1", RedisKeys.lease(partition: 0), "gw", "1000"])
        try await refused(.notifier, ["FCALL", "cs_routing_assign", "0"])
        try await refused(.gateway, ["XRANGE", RedisKeys.inbound(partition: 0), "-", "+"])
        try await refused(.gateway, ["DEL", RedisKeys.inbound(partition: 0)])
        try await refused(.gateway, ["XTRIM", RedisKeys.inbound(partition: 0), "MAXLEN", "0"])
        try await refused(.gateway, ["XDEL", RedisKeys.inbound(partition: 0), "0-1"])
        try await allowed(.gateway, ["XADD", RedisKeys.inbound(partition: 0), "*", "k", "aclcheck"])
        try await allowed(.gateway, ["FUNCTION", "LIST", "LIBRARYNAME", "cs_routing"])
    }

    static func chatUnderACL(_ users: ACLUsers, redis: RedisServer) async throws {
        var configuration = Cluster.Configuration(gateways: 0, dispatchers: 0, notifiers: 0)
        configuration.logLevel = "info"
        // Every process beats (cs:{ops}:proc:*) at least once while the test runs.
        configuration.environment = ["CS_HEARTBEAT_MS": "500"]
        // The cluster's own URL (cs-admin, redis-cli) is the admin user's. An archiver, as its own
        // user, archives the conversation into a PostgreSQL of the test.
        try await PostgresServer.with { pg in try await Cluster.run(
            testName: "aclUsers", redisURL: users.url(.admin, port: redis.port), configuration: configuration,
            onShutdownProblems: { for problem in $0 { Issue.record(Comment(rawValue: "shutdown: \(problem)")) } }
        ) { cluster in
            // The deploy step: the roles may not load their functions, the admin loads them all.
            let loaded = try await cluster.admin(["functions", "load"])
            #expect(loaded.contains("cs_routing") && loaded.contains("cs_conversation"), "\(loaded)")
            // A repeated --redis-url wins over the cluster's (the last one counts).
            try cluster.startDispatcher(id: "d-1", extraArguments: ["--redis-url", users.url(.dispatcher, port: redis.port)])
            try cluster.startNotifier(id: "n-1", redisURL: users.url(.notifier, port: redis.port))
            try cluster.startArchiver(id: "a-1", databaseURL: pg.url, extraArguments: ["--redis-url", users.url(.archiver, port: redis.port)])
            let gateway = try await cluster.startGateway(id: "gw-1", extraArguments: ["--redis-url", users.url(.gateway, port: redis.port)])
            try await cluster.addAgent(id: "alice", name: "Alice", password: Self.agentPassword, max: 2)
            try await cluster.admin(["canned", "add", "--team", "--shortcut", "hello", "--text", "Hello!"])
            // Webhooks: cs-admin registers, the dispatcher records, cs-webhooks delivers, each as its user.
            let receiver = try WebhookReceiver(launcher: cluster.launcher)
            try await receiver.start()
            try await cluster.admin(["webhook", "add", "--url", receiver.url("/ok/acl"), "--types", "*", "--allow-private-targets"])
            try cluster.startWebhooks(id: "w-1", extraArguments: ["--redis-url", users.url(.webhooks, port: redis.port), "--allow-private-targets"])
            try await Task.sleep(for: .milliseconds(2_600))

            try await withChatClients { scope in
                let agent = try await Self.connectAgent(scope, gateway, id: "alice")
                let customer = try await Self.connectCustomer(scope, gateway, name: "Ann")
                try await customer.client.sendMessage(id: "c-1", body: "Hello under ACL")
                let assigned = try await agent.client.waitFor(type: "conversation.assigned", timeout: .seconds(30))
                let conversationID = try #require(assigned.string("conversationId"))
                try await agent.client.sendMessage(id: "a-1", body: "Hi Ann", conversationID: conversationID)
                let reply = try await customer.client.waitFor(type: "message", timeout: .seconds(30)) { $0.string("id") == "a-1" }
                #expect(reply.string("body") == "Hi Ann")

                // A notification: cs-admin queues it, the notifier sends it, the gateway delivers it.
                try await cluster.admin(["notify", "send", "--audience", "all", "--body", "ACL check"])
                _ = try await customer.client.waitFor(type: "notification", timeout: .seconds(30))
                _ = try await agent.client.waitFor(type: "notification", timeout: .seconds(30))

                // Redis restarts: the AOF (script effects are MULTI/EXEC blocks) is replayed in full.
                let logKey = RedisKeys.conversationLog(conversationID)
                let before = try await cluster.redisCommand(["XLEN", logKey])
                try await redis.restart()
                let after = try await cluster.redisCommand(["XLEN", logKey])
                #expect(before == after && before != ["0"], "conversation log length \(before) before the restart, \(after) after")
                let redisLog = (try? String(contentsOf: redis.logFile, encoding: .utf8)) ?? ""
                #expect(!redisLog.contains("NOPERM"), "redis-server refused commands while loading its AOF; see \(redis.logFile.path)")

                // And the processes carry on (the functions came back with the AOF).
                try await customer.client.sendMessage(id: "c-2", body: "Still there?")
                _ = try await agent.client.waitFor(type: "message", timeout: .seconds(60)) { $0.string("id") == "c-2" }

                // Close and rate: the dispatcher writes the rating and the statistics.
                try await customer.client.sendClose(id: "c-close", conversationID: conversationID)
                _ = try await customer.client.waitFor(type: "conversation.closed", timeout: .seconds(30))
                try await customer.client.send(["type": "rate", "id": "c-rate", "conversationId": .string(conversationID), "score": 5])
                let rating = try await customer.client.waitFor(type: "rating", timeout: .seconds(30))
                #expect(rating.int("score") == 5, "rating: \(rating)")
                Self.expectNoErrors(customer.client)
                Self.expectNoErrors(agent.client)
                try await receiver.waitUntil("the rating's webhook") { requests in
                    requests.contains { $0.eventID.hasPrefix(conversationID + ":rating:") && $0.status == 200 }
                }

                // The archiver copied it (with its rating) and set its keys' expiry.
                try await Self.awaitCount(pg, "SELECT count(*) FROM cs_ratings WHERE conversation_id = '\(conversationID)' AND score = 5", equals: 1)
                let expiry = try await cluster.redisCommand(["PEXPIRETIME", RedisKeys.conversation(conversationID)])
                #expect((Int(expiry.first ?? "") ?? 0) > 0, "archived: expiry set (\(expiry))")
            }
            await receiver.stop()
            // Refusals read NOPERM, or inside a Lua script "The user executing the script can't ...".
            let denied = cluster.processLogLines(containing: "NOPERM") + cluster.processLogLines(containing: "user executing the script")
            #expect(denied.isEmpty, "ACL refusals in process logs: \(denied.prefix(5))")
        } }
    }
}
