/**
 * Goals kept in the process (`DATABASE_URL=memory:`): for tests and for trying the app without a database.
 * Not for a deployment: every instance has its own goals and loses them on restart.
 */
import { Goal, GoalStore } from "./goalStore";

export class MemoryGoalStore implements GoalStore {
    private readonly goals: Goal[] = [];

    async ping(): Promise<void> {}

    async list(limit: number): Promise<Goal[]> {
        return this.goals.slice(-limit).reverse();
    }

    async add(title: string): Promise<Goal> {
        const goal = { id: this.goals.length + 1, title, createdAt: new Date().toISOString() };
        this.goals.push(goal);
        return goal;
    }

    async close(): Promise<void> {}
}
