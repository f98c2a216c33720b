import CSRedis

extension RESPValue {
    /// A flat `field, value, ...` reply (HGETALL, stream entry fields) as a dictionary.
    public var fieldMap: [String: String] {
        guard let items = array else { return [:] }
        var result = [String: String](minimumCapacity: items.count / 2)
        var index = items.startIndex
        while index + 1 < items.endIndex {
            if let key = items[index].string, let value = items[index + 1].string { result[key] = value }
            index += 2
        }
        return result
    }
}
