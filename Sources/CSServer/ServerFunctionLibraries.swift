import CSRedis

/// The Redis function libraries of this module's scripts (docs/redis-keys.md, "Functions").
/// Each process registers the libraries it calls; their functions are what its Redis ACL user may
/// `FCALL` (deploy/redis/users.acl.template, checked by `FunctionACLTests`).
public enum ServerFunctionLibraries {
    /// Routing: assignment, queues, transfers, presence (gateways and dispatchers).
    public static let routing = RedisFunctionLibrary(name: "cs_routing", functions: [
        RoutingScripts.assign, RoutingScripts.drain, RoutingScripts.release, RoutingScripts.transfer,
        RoutingScripts.expire, RoutingScripts.positions, RoutingScripts.presence, RoutingScripts.heartbeat,
    ])
    /// Conversation entries and partition leases (dispatchers).
    public static let conversation = RedisFunctionLibrary(name: "cs_conversation", functions: [
        ConversationScripts.append, ConversationScripts.save, ConversationScripts.load, LeaseScripts.acquire, LeaseScripts.release,
    ])
    /// Ratings and their aggregates (dispatchers).
    public static let ratings = RedisFunctionLibrary(name: "cs_ratings", functions: [RatingScripts.record])
    /// Notification receipts (gateways and notifiers).
    public static let notifications = RedisFunctionLibrary(name: "cs_notifications", functions: [NotificationService.addReceipt])
}
