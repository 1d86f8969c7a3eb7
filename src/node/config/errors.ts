/** A configuration the node refuses: the message names the setting, where it came from and the rule. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
