import CSCore
import Foundation

extension NotificationService {
    /// Checks a request against the documented rules; every failure is a `ChatError` for a 4xx.
    public static func validate(_ request: Request, by creator: String, now: Int) throws -> PushNotification {
        guard let selector = request.audience else { throw ChatError(.invalidField, "audience is required") }
        let audience: PushNotification.Audience
        switch selector {
        case "all": audience = .all
        case "agents": audience = .agents
        case "customers": audience = .customers
        case "users":
            guard let users = request.users, !users.isEmpty, users.count <= PushNotification.Limits.maxUsers else {
                throw ChatError(.invalidField, "users must list 1-\(PushNotification.Limits.maxUsers) user ids")
            }
            guard users.allSatisfy({ Identifier.isValid($0) }) else { throw ChatError(.invalidField, "users must be valid user ids") }
            audience = .users(Array(Set(users)).sorted())
        default:
            guard selector.hasPrefix("skill:"), Identifier.isValid(String(selector.dropFirst(6)), maxLength: ClientFrame.Limits.maxSkillLength) else {
                throw ChatError(.invalidField, "audience must be all, agents, customers, skill:<skill> or users")
            }
            audience = .skill(String(selector.dropFirst(6)))
        }
        if selector != "users", request.users != nil { throw ChatError(.invalidField, "users goes with audience users only") }
        guard let body = request.body, !body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
            body.unicodeScalars.count <= PushNotification.Limits.maxBodyCharacters
        else { throw ChatError(.invalidField, "body must be 1-\(PushNotification.Limits.maxBodyCharacters) characters") }
        let title = request.title ?? ""
        guard title.unicodeScalars.count <= PushNotification.Limits.maxTitleCharacters else {
            throw ChatError(.invalidField, "title must be at most \(PushNotification.Limits.maxTitleCharacters) characters")
        }
        guard let priority = PushNotification.Priority(rawValue: request.priority ?? "info") else {
            throw ChatError(.invalidField, "priority must be info, warning or urgent")
        }
        var sendAt = now
        if let text = request.sendAt {
            guard let date = parseDate(text) else { throw ChatError(.invalidField, "sendAt must be an ISO 8601 time") }
            sendAt = Int(date.timeIntervalSince1970 * 1000)
            // A second of slack for clocks and transit.
            guard sendAt >= now - 1_000 else { throw ChatError(.invalidField, "sendAt is in the past") }
        }
        var expiresAt = max(sendAt, now) + PushNotification.Limits.defaultLifetimeSeconds * 1000
        if let text = request.expiresAt {
            guard let date = parseDate(text) else { throw ChatError(.invalidField, "expiresAt must be an ISO 8601 time") }
            expiresAt = Int(date.timeIntervalSince1970 * 1000)
            guard expiresAt > max(sendAt, now) else { throw ChatError(.invalidField, "expiresAt must be after sendAt") }
            guard expiresAt - max(sendAt, now) <= PushNotification.Limits.maxLifetimeSeconds * 1000 else {
                throw ChatError(.invalidField, "a notification lives at most 90 days")
            }
        }
        return PushNotification(
            id: "n_" + Identifier.random(12), audience: audience, title: title, body: body, priority: priority, createdAt: now,
            sendAt: sendAt, expiresAt: expiresAt, status: sendAt > now ? .scheduled : .sent, createdBy: creator)
    }

    static func parseDate(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
