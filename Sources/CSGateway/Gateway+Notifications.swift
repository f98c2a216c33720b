import CSCore
import CSServer
import Foundation
import HTTPTypes
import Hummingbird

extension GatewayContext {
    /// The notification API (docs/api.md, "Notifications"): supervisors (JWT) or back-office
    /// systems (`X-Admin-Key`).
    func addNotificationRoutes(to router: Router<GatewayRequestContext>) {
        router.post("/v1/notifications") { request, _ in
            await Self.answer {
                let creator = try await self.notificationCaller(request)
                let body = try await Self.decode(NotificationService.Request.self, from: request)
                let notification = try await self.notifications.create(body, by: creator)
                return Self.json(.accepted, Self.render(notification, counts: nil))
            }
        }
        router.get("/v1/notifications") { request, _ in
            await Self.answer {
                _ = try await self.notificationCaller(request)
                let limit = Int(request.uri.queryParameters.get("limit") ?? "50") ?? 0
                guard (1...200).contains(limit) else { throw ChatError(.invalidField, "limit must be 1...200") }
                let items = try await self.notifications.list(limit: limit)
                let rendered = items.map { Self.render($0.notification, counts: ($0.delivered, $0.acknowledged, $0.read)) }
                return Self.json(.ok, #"{"notifications":["# + rendered.joined(separator: ",") + "]}")
            }
        }
        router.get("/v1/notifications/:id") { request, context in
            await Self.answer {
                _ = try await self.notificationCaller(request)
                guard let id = context.parameters.get("id"), Identifier.isValid(id), let found = try await self.notifications.get(id) else {
                    throw ChatError(.notFound, "no such notification")
                }
                return Self.json(.ok, Self.render(found.notification, counts: (found.delivered, found.acknowledged, found.read)))
            }
        }
        router.delete("/v1/notifications/:id") { request, context in
            await Self.answer {
                _ = try await self.notificationCaller(request)
                guard let id = context.parameters.get("id"), Identifier.isValid(id), try await self.notifications.cancel(id) else {
                    throw ChatError(.notFound, "no such notification")
                }
                return Response(status: .accepted)
            }
        }
    }

    /// Who is calling: "admin" for a valid `X-Admin-Key`, else a supervisor's id.
    private func notificationCaller(_ request: Request) async throws -> String {
        try await supervisorOrAdmin(request, purpose: "notifications")
    }

    static func render(_ notification: PushNotification, counts: (delivered: Int, acknowledged: Int, read: Int)?) -> String {
        var json = JSONText(capacity: notification.body.utf8.count + 320)
        json.raw("{")
        json.field("id", notification.id, first: true)
        json.field("audience", notification.audience.selector)
        if case .users(let users) = notification.audience {
            json.key("users")
            json.raw("[" + users.map(Self.quoted).joined(separator: ",") + "]")
        }
        json.field("title", notification.title)
        json.field("body", notification.body)
        json.field("priority", notification.priority.rawValue)
        json.field("status", notification.status.rawValue)
        json.field("createdBy", notification.createdBy)
        for (key, ms) in [("createdAt", notification.createdAt), ("sendAt", notification.sendAt), ("expiresAt", notification.expiresAt)] {
            json.field(key, Date(timeIntervalSince1970: Double(ms) / 1000).formatted(.iso8601))
        }
        if let counts {
            json.key("counts")
            json.raw("{")
            json.field("delivered", counts.delivered, first: true)
            json.field("acknowledged", counts.acknowledged)
            json.field("read", counts.read)
            json.raw("}")
        }
        json.raw("}")
        return json.text
    }
}
