import CSCore
import CSRedis
import CSServer

/// Tells every waiting customer of a skill their position and estimated wait.
enum QueuePositions {
    /// One pipelined round of PUBLISH, one per waiting customer.
    static func publish(skill: String, routing: RoutingClient) async throws {
        let snapshot = try await routing.queue(skill: skill)
        guard !snapshot.conversationIDs.isEmpty else { return }
        var commands: [[RedisArgument]] = []
        commands.reserveCapacity(snapshot.conversationIDs.count)
        for (index, conversationID) in snapshot.conversationIDs.enumerated() {
            guard let customerID = Identifier.customerID(ofConversation: conversationID) else { continue }
            let frame = ServerFrame.queuePosition(
                conversationID: conversationID, skill: skill, position: index + 1,
                estimatedWaitSeconds: snapshot.estimatedWaitSeconds(position: index + 1), agentsOnline: snapshot.onlineAgents > 0)
            commands.append(["PUBLISH", .init(RedisKeys.userChannel(customerID)), .init(frame)])
        }
        try await routing.redis.pipeline(commands).checked()
    }

    /// Every skill with waiting conversations.
    static func publishAll(routing: RoutingClient) async throws {
        for skill in try await routing.queuedSkills() { try await publish(skill: skill, routing: routing) }
    }
}
