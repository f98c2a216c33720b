import CSCore
import CSRedis

/// The supervisor's live numbers (`GET /v1/stats/live`), read from the routing hashes, today's
/// counters and today's rating aggregate.
public struct LiveStats: Sendable {
    public struct AgentRow: Sendable, Equatable {
        public var id: String
        public var name: String
        public var role: String
        /// `online` (present and taking conversations), `away` (present, taking none) or `offline`.
        public var status: String
        public var load: Int
        public var capacity: Int
    }

    public var at: Int
    public var queued: Int
    public var open: Int
    public var openedToday: Int
    public var closedToday: Int
    public var averageWaitMilliseconds: Int?
    public var averageFirstResponseMilliseconds: Int?
    public var queues: [(skill: String, waiting: Int)]
    public var agents: [AgentRow]
    public var csatToday: RatingAggregate

    /// Reads everything in two pipelined round trips.
    public static func read(redis: RedisClient, now: Int) async throws -> LiveStats {
        let today = String(describing: CalendarDay(milliseconds: now))
        let first = try await redis.pipeline([
            ["HLEN", .init(RedisKeys.queued)], ["HLEN", .init(RedisKeys.assignments)],
            ["HGETALL", .init(RedisKeys.dailyStats(day: today))], ["HGETALL", .init(RedisKeys.ratingAggregate(.all, day: today))],
            ["SMEMBERS", .init(RedisKeys.queueSkills)], ["SMEMBERS", .init(RedisKeys.agentIDs)],
            ["HGETALL", .init(RedisKeys.agentsLoad)], ["HGETALL", .init(RedisKeys.agentsCapacity)], ["HGETALL", .init(RedisKeys.agentsStatus)],
            ["ZRANGE", .init(RedisKeys.agentsOnline), "0", "-1", "WITHSCORES"],
        ]).checked()
        let daily = first[2].fieldMap
        let skills = (first[4].array ?? []).compactMap(\.string).sorted()
        let agentIDs = (first[5].array ?? []).compactMap(\.string).sorted()
        let load = first[6].fieldMap, capacity = first[7].fieldMap, status = first[8].fieldMap
        let presentUntil = first[9].fieldMap.compactMapValues { Int($0) ?? Double($0).map { Int($0) } }
        let second = try await redis.pipeline(
            skills.map { ["LLEN", .init(RedisKeys.queue(skill: $0))] } + agentIDs.map { ["HMGET", .init(RedisKeys.agent($0)), "name", "role"] }).checked()
        var agents: [AgentRow] = []
        for (index, id) in agentIDs.enumerated() {
            let profile = second[skills.count + index].array ?? []
            let present = (presentUntil[id] ?? 0) > now
            let set = status[id] ?? "online"
            agents.append(AgentRow(
                id: id, name: profile.first?.string ?? id, role: profile.count > 1 ? (profile[1].string ?? "agent") : "agent",
                status: !present || set == "offline" ? "offline" : set == "away" ? "away" : "online",
                load: Int(load[id] ?? "") ?? 0, capacity: Int(capacity[id] ?? "") ?? 0))
        }
        func average(_ total: String, _ count: String) -> Int? {
            guard let count = daily[count].flatMap(Int.init), count > 0 else { return nil }
            return (daily[total].flatMap(Int.init) ?? 0) / count
        }
        return LiveStats(
            at: now, queued: first[0].int ?? 0, open: first[1].int ?? 0, openedToday: daily["opened"].flatMap(Int.init) ?? 0,
            closedToday: daily["closed"].flatMap(Int.init) ?? 0, averageWaitMilliseconds: average("waitMs", "assigned"),
            averageFirstResponseMilliseconds: average("responseMs", "responded"),
            queues: skills.enumerated().map { ($0.element, second[$0.offset].int ?? 0) }, agents: agents,
            csatToday: RatingAggregate(fields: first[3].fieldMap))
    }

    public func render() -> String {
        var json = JSONText(capacity: 512 + agents.count * 96)
        json.raw("{")
        json.field("at", at, first: true)
        json.key("conversations")
        json.raw("{")
        json.field("queued", queued, first: true)
        json.field("open", open)
        json.field("openedToday", openedToday)
        json.field("closedToday", closedToday)
        json.raw("}")
        json.key("averageWaitSeconds")
        json.raw(averageWaitMilliseconds.map { RatingAggregate.decimal($0 / 100, places: 1) } ?? "null")
        json.key("averageFirstResponseSeconds")
        json.raw(averageFirstResponseMilliseconds.map { RatingAggregate.decimal($0 / 100, places: 1) } ?? "null")
        json.key("queues")
        json.raw("[")
        for (index, queue) in queues.enumerated() {
            json.raw(index == 0 ? "{" : ",{")
            json.field("skill", queue.skill, first: true)
            json.field("waiting", queue.waiting)
            json.raw("}")
        }
        json.raw("]")
        json.key("agents")
        json.raw("[")
        for (index, agent) in agents.enumerated() {
            json.raw(index == 0 ? "{" : ",{")
            json.field("id", agent.id, first: true)
            json.field("name", agent.name)
            json.field("role", agent.role)
            json.field("status", agent.status)
            json.field("load", agent.load)
            json.field("capacity", agent.capacity)
            json.raw("}")
        }
        json.raw("]")
        json.key("csatToday")
        csatToday.render(into: &json)
        json.raw("}")
        return json.text
    }
}
