import ArgumentParser
import CSCore
import CSServer
import Foundation

/// `cs-admin status`: the operator's one-screen view (docs/operations.md, "Monitoring").
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Processes, partitions, queues, agents and dead letters at a glance.")
    @OptionGroup var options: AdminOptions

    func run() async throws {
        let status = try await options.withRedis { try await SystemStatus.read(redis: $0, now: nowMilliseconds()) }
        print(Self.render(status))
    }

    static func render(_ status: SystemStatus) -> String {
        var out = "PROCESSES\n"
        var rows = [["ID", "ROLE", "STATE", "VERSION", "UP", "BEAT", "CONNS", "IN", "OUT", "LAG", "LAST ERROR"]]
        for process in status.processes.sorted(by: { ($0.fields["role"] ?? "", $0.id) < ($1.fields["role"] ?? "", $1.id) }) {
            let fields = process.fields
            let vanished = fields.isEmpty || (fields["state"] == "running" && process.expiresAt < status.now)
            let state = vanished ? "GONE" : fields["state"] ?? "?"
            let started = fields["startedAt"].flatMap(Int.init)
            let beat = fields["updatedAt"].flatMap(Int.init)
            let error = fields["lastError"].flatMap { $0.isEmpty ? nil : $0 } ?? "-"
            rows.append([
                process.id, fields["role"] ?? "?", state, fields["version"] ?? "-",
                started.map { age(status.now - $0) } ?? "-", beat.map { age(status.now - $0) + " ago" } ?? "-",
                fields["connections"] ?? "-", fields["messagesIn"] ?? "-", fields["messagesOut"] ?? "-", fields["streamLag"] ?? "-",
                String(error.prefix(60)),
            ])
        }
        out += table(rows)
        out += "\nPARTITIONS\n"
        rows = [["P", "OWNER", "LAG", "PENDING", "LENGTH", "DEAD"]]
        for partition in status.partitions {
            rows.append([
                String(partition.number), partition.owner ?? "(none)", String(partition.lag), String(partition.pending),
                String(partition.length), String(partition.deadLetters),
            ])
        }
        out += table(rows)
        out += "\nQUEUES\n"
        rows = [["SKILL", "WAITING"]] + status.queues.map { [$0.skill, String($0.waiting)] }
        out += table(rows)
        out += "\nAGENTS\n"
        rows = [["ID", "NAME", "ROLE", "STATUS", "LOAD"]] + status.agents.map { [$0.id, $0.name, $0.role, $0.status, "\($0.load)/\($0.capacity)"] }
        out += table(rows)
        let online = status.agents.filter { $0.status == "online" }.count
        let away = status.agents.filter { $0.status == "away" }.count
        let dead = status.partitions.reduce(0) { $0 + $1.deadLetters }
        out += "\n\(online) agents online, \(away) away; \(status.queues.reduce(0) { $0 + $1.waiting }) conversations waiting; "
        out += "\(dead) dead letters" + (dead > 0 ? " (cs-admin dead list)" : "") + "\n"
        return out
    }

    static func age(_ milliseconds: Int) -> String {
        let seconds = max(0, milliseconds / 1000)
        if seconds < 120 { return "\(seconds)s" }
        if seconds < 7200 { return "\(seconds / 60)m" }
        if seconds < 172_800 { return "\(seconds / 3600)h" }
        return "\(seconds / 86400)d"
    }

    static func table(_ rows: [[String]]) -> String {
        guard let columns = rows.map(\.count).max() else { return "" }
        let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }
}
