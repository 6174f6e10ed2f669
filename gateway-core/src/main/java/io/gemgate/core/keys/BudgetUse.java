package io.gemgate.core.keys;

import io.gemgate.core.settings.KeyBudget;

/**
 * What one key has used of its budget for one model (see {@link KeyPool#budgetUse}).
 *
 * @param budget         the key's budget for the model
 * @param minuteRequests requests sent with the key for the model in the current minute
 * @param minuteTokens   tokens (prompt + output) the answers of the current minute reported
 * @param requestsToday  requests sent with the key for the model since the quota day began
 */
public record BudgetUse(KeyBudget budget, long minuteRequests, long minuteTokens, long requestsToday) {
}
