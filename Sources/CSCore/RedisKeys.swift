/// Every Redis key, stream and channel the system uses (docs/redis-keys.md is the reference).
///
/// Keys that a multi-key command or script touches together share one hash tag (`{...}`), so the
/// layout works unchanged on Redis Cluster.
public enum RedisKeys {
    // MARK: Inbound partitions: tag {p<N>}

    /// Inbound stream of partition `n`: gateways XADD client actions, the owning dispatcher reads.
    public static func inbound(partition n: Int) -> String { "cs:{p\(n)}:in" }
    /// Lease naming the dispatcher that owns partition `n` (string with PX expiry).
    public static func lease(partition n: Int) -> String { "cs:{p\(n)}:lease" }
    /// Counter: the fencing token of the partition's latest lease (`INCR` at each acquisition).
    public static func fence(partition n: Int) -> String { "cs:{p\(n)}:fence" }
    /// Consumer group on every inbound stream.
    public static let dispatcherGroup = "dispatchers"

    // MARK: Conversations: tag {c:<conversationId>}

    /// Conversation record (hash): customer, agent, status, skill, seq, timestamps.
    public static func conversation(_ id: String) -> String { "cs:{c:\(id)}:meta" }
    /// Conversation history (stream): one entry per seq, entry id `<seq>-0`, field `f` = frame JSON.
    public static func conversationLog(_ id: String) -> String { "cs:{c:\(id)}:log" }
    /// Dedup table (hash): dedup id (client message id, or event id) → seq.
    public static func conversationDedup(_ id: String) -> String { "cs:{c:\(id)}:dedup" }

    // MARK: Customers: tag {u:<customerId>}

    /// The customer's open conversation id (string).
    public static func customerConversation(_ customerID: String) -> String { "cs:{u:\(customerID)}:conv" }
    /// The inbound entry whose message opened a conversation, by its client message id: a retry
    /// of that message after the conversation closed opens nothing new (`PartitionWorker`).
    public static func openingMessage(customerID: String, clientMessageID: String) -> String {
        "cs:{u:\(customerID)}:opened:\(clientMessageID)"
    }

    // MARK: Agents and routing: tag {agents}

    /// Agent profile (hash): name, role, skills, max, pw (scrypt hash).
    public static func agent(_ id: String) -> String { "cs:{agents}:agent:\(id)" }
    /// Set of all agent ids.
    public static let agentIDs = "cs:{agents}:ids"
    /// Sorted set: agent id → presence expiry (ms since epoch); online while the score is in the future.
    public static let agentsOnline = "cs:{agents}:online"
    /// Hash: agent id → number of open conversations assigned.
    public static let agentsLoad = "cs:{agents}:load"
    /// Hash: agent id → maximum concurrent conversations.
    public static let agentsCapacity = "cs:{agents}:capacity"
    /// Hash: agent id → skills as `,a,b,` (leading and trailing comma for exact matching in Lua).
    public static let agentsSkills = "cs:{agents}:skills"
    /// Hash: agent id → ms of the last assignment (ties go to the longest idle).
    public static let agentsLastAssigned = "cs:{agents}:lastassigned"
    /// Hash: conversation id → assigned agent id.
    public static let assignments = "cs:{agents}:assigned"
    /// Hash: conversation id → skill, for conversations waiting in a queue.
    public static let queued = "cs:{agents}:queued"
    /// Set of skills whose queue is not empty.
    public static let queueSkills = "cs:{agents}:queues"
    /// List (FIFO, head = oldest) of conversation ids waiting for an agent with `skill`.
    public static func queue(skill: String) -> String { "cs:{agents}:queue:\(skill)" }
    /// Prefix of queue keys, for scripts that build them.
    public static let queuePrefix = "cs:{agents}:queue:"
    /// Hash: agent id → `away` or `offline` (absent or `online`: takes new conversations).
    public static let agentsStatus = "cs:{agents}:status"
    /// Set of the conversation ids assigned to one agent.
    public static func agentConversations(_ agentID: String) -> String { "cs:{agents}:of:\(agentID)" }
    /// Prefix of the per-agent conversation sets, for scripts that build them.
    public static let agentConversationsPrefix = "cs:{agents}:of:"
    /// Hash: conversation id → skill, while the conversation is assigned or queued.
    public static let conversationSkills = "cs:{agents}:skillof"
    /// Hash: conversation id → ms when its current agent got it (handling time at close).
    public static let assignedAt = "cs:{agents}:assignedat"
    /// Hash: conversation id → `<inbound entry id> <moved|queued> <from agent>` of the last transfer
    /// applied to it, so that a retried transfer entry finds its own effect instead of a new owner.
    public static let transfersApplied = "cs:{agents}:transferred"
    /// List of the last 20 handling times (ms) of a skill, newest first; feeds wait estimates.
    public static func handlingTimes(skill: String) -> String { "cs:{agents}:handle:\(skill)" }
    /// Prefix of the handling-time lists, for scripts that build them.
    public static let handlingTimesPrefix = "cs:{agents}:handle:"
    /// List used as a doorbell: anyone who frees capacity pushes, a dispatcher's drainer pops (BLPOP).
    public static let drainWakeup = "cs:{agents}:wake"

    // MARK: Pub/sub channels (not keys; no slot)

    /// Frames for every connection of a user.
    public static func userChannel(_ userID: String) -> String { "cs:u:\(userID)" }
    /// Frames for one connection on a gateway: payload `<connectionId> <frame>`.
    public static func gatewayChannel(_ gatewayID: String) -> String { "cs:g:\(gatewayID)" }

    // MARK: Notifier: tag {notify}

    /// Requests for the notifier (stream).
    public static let notifyStream = "cs:{notify}:in"
    /// Consumer group on the notifier stream.
    public static let notifierGroup = "notifiers"

    // MARK: Operations: tag {ops}

    /// The partition count every process must agree on (string).
    public static let partitionCount = "cs:{ops}:partitions"
    /// Sorted set: dispatcher id → liveness expiry (ms); used to share partitions fairly.
    public static let dispatchers = "cs:{ops}:dispatchers"
}

extension RedisKeys {
    // MARK: Notifications: tag {notify} (one slot: small records, scripts span them)

    /// A notification (hash, `Notification.fields`); expires with the notification.
    public static func notification(_ id: String) -> String { "cs:{notify}:n:\(id)" }
    /// Users a notification was delivered to / who acknowledged it / who read it (sets).
    public static func notificationReceipts(_ id: String, _ kind: String) -> String { "cs:{notify}:n:\(id):\(kind)" }
    /// Unexpired notifications of a broadcast selector or one user (sorted set: id → expiresAt ms).
    public static func notificationInbox(_ selector: String) -> String { "cs:{notify}:inbox:\(selector)" }
    /// Notifications waiting for their time (sorted set: id → sendAt ms).
    public static let scheduledNotifications = "cs:{notify}:scheduled"
    /// Every notification by creation time (sorted set: id → createdAt ms), for listing.
    public static let notificationIndex = "cs:{notify}:index"
    /// Channel of broadcasts: payload `<selector> <frame>`; every gateway matches its connections.
    public static let broadcastChannel = "cs:b"
    /// Marks a visitor id as issued (string with the visitor token's lifetime), so targeted
    /// notifications can refuse unknown users.
    public static func visitorSeen(_ visitorID: String) -> String { "cs:{u:\(visitorID)}:seen" }
}
