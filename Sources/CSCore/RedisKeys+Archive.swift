extension RedisKeys {
    // MARK: Archive: tag {archive} (the stream, its dead letters and the group's work share one slot)

    /// Finished conversations waiting to be copied to PostgreSQL (stream). Fields: `k` (`closed`
    /// when the conversation closed, `rated` when its rating was recorded or changed), `c` (the
    /// conversation id), `at` (ms). One entry per close and per rating, never per message: the
    /// owner of the conversation's partition adds it; the archivers consume it in ``archiverGroup``.
    public static let finishedConversations = "cs:{archive}:closed"

    /// Consumer group of the archivers on ``finishedConversations``.
    public static let archiverGroup = "archivers"

    /// Entries of ``finishedConversations`` an archiver could not archive (stream): the original
    /// fields plus `id`, `error`, `at` and `archiver`. Written atomically with the XACK (MULTI).
    public static let archiveDeadLetters = "cs:{archive}:dead"
}
