extension RedisKeys {
    // MARK: Dead letters: tag {p<N>} (same slot as the partition's inbound stream)

    /// Inbound entries of partition `n` that could not be processed (stream): the original fields
    /// plus `id`, `error`, `attempts`, `at` and `dispatcher`. Written by the partition's owner,
    /// atomically with the XACK of the original entry.
    public static func deadLetters(partition n: Int) -> String { "cs:{p\(n)}:dead" }

    /// Approximate number of entries each dead-letter stream keeps (`XADD … MAXLEN ~`).
    public static let deadLetterMaxLength = 10_000

    /// Fields a dead letter adds to the original entry's fields. An original field with one of
    /// these names (only in a hand-made entry) is kept as `orig.<name>`.
    public static let deadLetterFields = ["id", "error", "attempts", "at", "dispatcher"]
}
