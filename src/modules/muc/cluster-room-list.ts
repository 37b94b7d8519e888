// disco#items on a MUC service in a cluster (XEP-0045 §6.3, docs/cluster.md "Rooms"): each room lives on one node
// (cluster-placement.ts), so the node asked lists its own public rooms and asks the other live nodes for theirs
// (one cluster question per service domain), waiting at most `cluster_list_timeout`. A node that does not answer
// in time is left out of that answer; past `cluster_list_max_pending` questions in flight, this node's rooms alone.
import type { Logger } from "pino";
import { ClusterQuestion, ClusterQuestionBusyError } from "../../cluster/cluster-question.js";
import type { ClusterBus } from "../../cluster/types.js";
import { type ListedRoom, publicRooms } from "./disco.js";
import type { MucService } from "./service.js";

export function attachClusterRoomList(svc: MucService, bus: ClusterBus, log: Logger): () => void {
  const question = new ClusterQuestion(
    bus,
    `muc.rooms:${svc.domain}`,
    () => publicRooms(svc),
    {
      get timeoutMs() {
        return svc.options.cluster_list_timeout * 1000;
      },
      get maxPending() {
        return svc.options.cluster_list_max_pending;
      },
    },
    log,
  );
  svc.otherNodesRooms = async () => {
    try {
      const { answers } = await question.ask({});
      return [...answers.values()].flatMap((list) => (Array.isArray(list) ? (list as ListedRoom[]) : []));
    } catch (err) {
      if (err instanceof ClusterQuestionBusyError) return [];
      throw err;
    }
  };
  return () => {
    svc.otherNodesRooms = undefined;
    question.close();
  };
}
