namespace StreamLb.Balancing.Membership;

/// <summary>
/// What an operator made of one server at runtime: added, re-weighted, drained, downed or removed. Replicated per
/// upstream; the balancer lays these over the servers of the config, so a spec for a config server overrides it.
/// </summary>
public sealed record ServerSpec(int Id, string Address, int Weight, int MaxConns, bool Backup, ServerMode Mode, bool Removed);
