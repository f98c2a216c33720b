import CSCore
import CSRedis
import CSServer
import Synchronization

extension PartitionWorker {
    /// The skill a conversation may use for `requested` (see `SkillPolicy`). Only a named skill
    /// other than `default` costs a round trip: whether it has a queue and how many queues exist,
    /// read fresh so that the cap holds for this dispatcher (dispatchers opening at the same moment
    /// on other partitions may each add one queue past it), and, unless an agent was seen with it
    /// in the last minute, the agents' skills.
    func resolveSkill(_ requested: String) async throws -> String {
        let policy = configuration.skillPolicy
        guard policy.needsFacts(requested) else { return policy.resolve(requested, facts: nil) }
        let known = agentSkills.contains(requested)
        var commands: [[RedisArgument]] = [
            ["SISMEMBER", .init(RedisKeys.queueSkills), .init(requested)], ["SCARD", .init(RedisKeys.queueSkills)],
        ]
        if !known && !policy.configured.contains(requested) { commands.append(["HVALS", .init(RedisKeys.agentsSkills)]) }
        let replies = try await redis.pipeline(commands).checked()
        var someAgentHasIt = known
        if replies.count > 2 {
            // Values are `,skill,skill,` (see `AgentDirectory.save`).
            let needle = "," + requested + ","
            someAgentHasIt = (replies[2].array ?? []).contains { $0.string?.contains(needle) == true }
            if someAgentHasIt { agentSkills.remember(requested) }
        }
        let facts = SkillPolicy.Facts(someAgentHasIt: someAgentHasIt, isQueued: replies[0].int == 1, queueCount: replies[1].int ?? 0)
        let skill = policy.resolve(requested, facts: facts)
        if skill != requested {
            logger.info("requested skill not accepted; using \(skill)", metadata: ["skill": "\(requested.prefix(32))"])
        }
        return skill
    }
}

/// Skills recently seen on some agent account, so that opening many conversations for a real
/// skill does not read every agent's skills each time (an account that loses the skill keeps it
/// accepted for at most `lifetime`). Only positive answers are kept: an invented name is checked
/// against Redis every time and never fills this.
final class KnownAgentSkills: Sendable {
    private let seen = Mutex<[String: ContinuousClock.Instant]>([:])
    private let lifetime: Duration = .seconds(60)

    func contains(_ skill: String) -> Bool {
        seen.withLock { guard let at = $0[skill] else { return false }; return ContinuousClock.now - at < lifetime }
    }

    func remember(_ skill: String) {
        seen.withLock {
            if $0.count > 10_000 { $0.removeAll() }
            $0[skill] = .now
        }
    }
}
